# Run by sh (the demo maps .sh to it): no execute bit needed.
printf 'Content-Type: text/plain; charset=utf-8\n\n'
printf 'Hello, %s, from a shell CGI script.\n\n' "${QUERY_STRING#who=}"
printf 'The CGI variables it was given (RFC 3875 section 4.1):\n\n'
env | sort
