# A form handled by a Ruby CGI script, with Ruby's own CGI library. Ruby is
# CRuby 3.4 compiled to WebAssembly, run in postern's WASI sandbox.
require "cgi"

cgi = CGI.new
name = cgi["name"].strip
print cgi.header("type" => "text/html", "charset" => "UTF-8")
print <<~HTML
  <!doctype html>
  <title>Ruby in WebAssembly</title>
  <h1>#{name.empty? ? "Hello from Ruby #{RUBY_VERSION}" : "Hello, #{CGI.escapeHTML(name)}!"}</h1>
  <form method="post"><input name="name" placeholder="your name"> <button>Greet</button></form>
  <p>Ran #{ENV["SCRIPT_NAME"]} on #{RUBY_PLATFORM}.</p>
HTML
