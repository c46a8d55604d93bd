// The bench's floor for "popup open → drawn": an extension page whose one module draws a line at once (test build only).
const p = document.createElement('p');
p.textContent = 'drawn';
document.body.append(p);
performance.mark('anaf:blank-drawn');
