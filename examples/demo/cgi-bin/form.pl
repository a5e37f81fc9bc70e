# A form and its answer, in plain Perl (no modules needed).
use strict;
use warnings;

sub decode { my $s = shift // ''; $s =~ tr/+/ /; $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; return $s; }
sub escape { my $s = shift; $s =~ s/&/&amp;/g; $s =~ s/</&lt;/g; $s =~ s/>/&gt;/g; $s =~ s/"/&quot;/g; return $s; }

my %form;
if (($ENV{REQUEST_METHOD} // '') eq 'POST') {
  read(STDIN, my $body, $ENV{CONTENT_LENGTH} // 0);
  for my $pair (split /&/, $body) {
    my ($k, $v) = split /=/, $pair, 2;
    $form{decode($k)} = decode($v);
  }
}

print "Content-Type: text/html; charset=utf-8\n\n";
print "<!doctype html><title>Perl form</title><h1>A Perl CGI form</h1>\n";
print "<p>Hello, ", escape($form{name}), "!</p>\n" if defined $form{name} && $form{name} ne '';
print qq{<form method="post"><input name="name" placeholder="your name"> <button>Send</button></form>\n};
