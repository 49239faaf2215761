// Drives the e-ID page: asks the hub for the order's status every second, draws the new QR code
// from its payload (qr.js), shows the user message, and continues when the sign-in is complete.
// Works with the same JSON API a script would use (data-status-url).
(function () {
  'use strict';
  var root = document.querySelector('[data-status-url]');
  if (!root) return;
  var statusUrl = root.getAttribute('data-status-url');
  var qr = document.getElementById('qr');
  var message = document.getElementById('message');
  var pendingBox = document.getElementById('pending');
  var pendingActions = document.getElementById('pending-actions');
  var failedBox = document.getElementById('failed');
  var retryForm = document.getElementById('retry-form');
  var devLink = document.getElementById('dev-app-link');
  var stopped = false;
  var timer = null;

  function schedule(ms) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  function show(state) {
    if (state.message && message.textContent !== state.message) message.textContent = state.message;
    if (state.status === 'pending') {
      // The first frame came with the page (drawn by the server); later ones are drawn here. Same
      // quiet zone as the server's, so the code does not jump in size.
      if (qr && state.qr && window.idnavQr && qr.getAttribute('data-qr') !== state.qr) {
        qr.setAttribute('src', window.idnavQr.svgDataUrl(state.qr, { margin: 2 }));
        qr.setAttribute('data-qr', state.qr);
      }
      if (devLink && state.qr) devLink.setAttribute('href', devLink.getAttribute('data-base') + '?qr=' + encodeURIComponent(state.qr));
    } else if (state.status === 'failed') {
      stopped = true;
      if (pendingBox) pendingBox.classList.add('hidden');
      if (pendingActions) pendingActions.classList.add('hidden');
      if (devLink) devLink.parentElement.classList.add('hidden');
      if (failedBox) failedBox.classList.remove('hidden');
      message.parentElement.classList.add('failed');
      if (retryForm && state.retry) retryForm.setAttribute('action', state.retry);
      showAlternatives(state.alternatives);
    } else if (state.status === 'complete' && state.next) {
      stopped = true;
      window.location.assign(state.next);
    }
  }

  // The e-ID service is down: offer the tenant's other methods (as the server renders them).
  function showAlternatives(list) {
    var box = document.getElementById('alternatives');
    if (!box || !list || !list.length || box.childElementCount) return;
    var p = document.createElement('p');
    p.textContent = box.getAttribute('data-label');
    var ul = document.createElement('ul');
    ul.className = 'methods alternatives';
    list.forEach(function (a) {
      var li = document.createElement('li');
      var link = document.createElement('a');
      link.className = 'button';
      link.href = a.url;
      link.setAttribute('data-method', a.id);
      link.textContent = a.name;
      li.appendChild(link);
      ul.appendChild(li);
    });
    box.appendChild(p);
    box.appendChild(ul);
  }

  function tick() {
    if (document.hidden) { schedule(1000); return; }
    fetch(statusUrl, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.json(); })
      .then(function (state) { show(state); schedule(1000); })
      .catch(function () { schedule(2000); });
  }

  // When the page comes back from the background (the BankID app was in front), ask at once.
  document.addEventListener('visibilitychange', function () { if (!document.hidden) schedule(0); });
  window.addEventListener('pageshow', function () { schedule(0); });
  schedule(0);
})();
