// preview1's `errno` values that the host answers with
// (github.com/WebAssembly/WASI, legacy/preview1/docs.md, "errno").

export const Errno = {
  SUCCESS: 0,
  BADF: 8,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  MFILE: 33,
  NAMETOOLONG: 37,
  NOENT: 44,
  NOSYS: 52,
  NOTDIR: 54,
  ROFS: 69,
  SPIPE: 70,
  NOTCAPABLE: 76,
} as const;
