/* What a started script may reach: where it runs and as whom (confine.c). */
#ifndef POSTERN_CONFINE_H
#define POSTERN_CONFINE_H

/* Opens `dir` (relative, "" for `root` itself) beneath `root` following no symlink: a descriptor, or -errno. */
int open_beneath(const char *root, const char *dir);
/* 0 when `name` in `dirfd` is a regular file itself (not a symlink), else an errno value. */
int check_script(int dirfd, const char *name);
/* A decimal user or group id; exits on anything else. */
unsigned long parse_id(const char *text);
/* Becomes uid:gid with no supplementary group, for good, or exits. */
void become(unsigned long uid, unsigned long gid);

#endif
