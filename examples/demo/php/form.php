<?php
// Echoes a POSTed form field.
header('Content-Type: text/plain; charset=utf-8');
echo "PHP received: " . ($_POST['message'] ?? '(nothing)') . "\n";
