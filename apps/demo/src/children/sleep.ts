// Waits to be killed.
setInterval(() => {}, 1_000);
