<?php
// A PHP page served through php-cgi, started and supervised by postern.
header('Content-Type: text/html; charset=utf-8');
$name = htmlspecialchars($_GET['name'] ?? 'world');
?>
<!doctype html>
<title>PHP through postern</title>
<h1>Hello, <?= $name ?>, from PHP <?= PHP_VERSION ?></h1>
<p>SCRIPT_NAME: <code><?= htmlspecialchars($_SERVER['SCRIPT_NAME']) ?></code>,
PATH_INFO: <code><?= htmlspecialchars($_SERVER['PATH_INFO'] ?? '') ?></code>,
served by <code><?= htmlspecialchars($_SERVER['SERVER_SOFTWARE']) ?></code>.</p>
<form method="post" action="/php/form.php"><input name="message" placeholder="say something"> <button>POST it</button></form>
