// OneLead report: sorts and filters the lead queue in the page. Filters also come from and go to
// the URL hash (`#priority=MEDIUM&type=…&territory=…&min=60&sort=score&dir=desc`; `filter=` is
// short for `priority=`), so a filtered view can be shared as a link. The number of visible rows
// is written to <body data-visible-rows>, which the tests read.
(function () {
  'use strict';
  var body = document.body;
  var table = document.getElementById('queue');
  var form = document.getElementById('filters');
  var out = document.getElementById('shown');
  var dataEl = document.getElementById('lead-data');
  if (!table || !form || !dataEl) { return; }
  var rows = JSON.parse(dataEl.textContent);
  var groups = Array.prototype.slice.call(table.querySelectorAll('tbody.lead'));
  var heads = Array.prototype.slice.call(table.querySelectorAll('thead th[data-key]'));
  var KEYS = ['type', 'priority', 'territory', 'min', 'sort', 'dir'];
  var state = { type: '', priority: '', territory: '', min: '', sort: '', dir: '' };

  function readHash() {
    var h = window.location.hash.replace(/^#/, '');
    if (h.indexOf('=') < 0) { return false; }
    KEYS.forEach(function (k) { state[k] = ''; });
    h.split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i < 0) { return; }
      var k = decodeURIComponent(kv.slice(0, i));
      var v = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
      if (k === 'filter') { k = 'priority'; }
      if (KEYS.indexOf(k) >= 0) { state[k] = k === 'priority' ? v.toUpperCase() : v; }
    });
    return true;
  }

  function writeHash() {
    var parts = KEYS.filter(function (k) { return state[k] !== ''; }).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(state[k]);
    });
    var h = parts.length ? '#' + parts.join('&') : window.location.pathname + window.location.search;
    if (window.history && window.history.replaceState) { window.history.replaceState(null, '', h); }
  }

  function matches(r) {
    if (state.type && r.type !== state.type) { return false; }
    if (state.priority && r.priority !== state.priority) { return false; }
    if (state.territory && r.territory !== state.territory) { return false; }
    var min = parseFloat(state.min);
    if (!isNaN(min) && !(r.score >= min)) { return false; }
    return true;
  }

  function compare(a, b) {
    var k = state.sort || 'score';
    var desc = state.dir ? state.dir === 'desc' : (k === 'score' || k === 'days');
    var x = rows[a.getAttribute('data-i')][k];
    var y = rows[b.getAttribute('data-i')][k];
    var c;
    if (x === null || x === undefined || x === '') { c = (y === null || y === undefined || y === '') ? 0 : 1; return c; }
    if (y === null || y === undefined || y === '') { return -1; }
    if (typeof x === 'number' && typeof y === 'number') { c = x - y; } else { c = String(x).localeCompare(String(y)); }
    if (desc) { c = -c; }
    return c || (Number(a.getAttribute('data-i')) - Number(b.getAttribute('data-i')));
  }

  function apply() {
    var shown = 0;
    groups.sort(compare).forEach(function (g) {
      var ok = matches(rows[g.getAttribute('data-i')]);
      g.hidden = !ok;
      if (ok) { shown += 1; }
      table.appendChild(g);
    });
    heads.forEach(function (th) {
      var k = th.getAttribute('data-key');
      var active = k === (state.sort || 'score');
      var desc = state.dir ? state.dir === 'desc' : (k === 'score' || k === 'days');
      th.setAttribute('aria-sort', active ? (desc ? 'descending' : 'ascending') : 'none');
    });
    ['type', 'priority', 'territory', 'min'].forEach(function (k) {
      var el = form.elements[k];
      if (el && el.value !== state[k]) { el.value = state[k]; }
    });
    body.setAttribute('data-visible-rows', String(shown));
    if (out) { out.textContent = shown + ' of ' + groups.length + ' leads'; }
  }

  form.addEventListener('input', function (e) {
    var k = e.target && e.target.name;
    if (KEYS.indexOf(k) < 0) { return; }
    state[k] = e.target.value;
    apply();
    writeHash();
  });
  form.addEventListener('reset', function () {
    window.setTimeout(function () {
      ['type', 'priority', 'territory', 'min'].forEach(function (k) { state[k] = ''; });
      apply();
      writeHash();
    }, 0);
  });
  form.addEventListener('submit', function (e) { e.preventDefault(); });

  function sortBy(th) {
    var k = th.getAttribute('data-key');
    var current = th.getAttribute('aria-sort');
    state.sort = k;
    state.dir = current === 'descending' ? 'asc' : (current === 'ascending' ? 'desc' : (k === 'score' || k === 'days' ? 'desc' : 'asc'));
    apply();
    writeHash();
  }
  heads.forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
    th.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(th); }
    });
  });

  window.addEventListener('hashchange', function () { if (readHash()) { apply(); } });
  // Printing shows every breakdown of the visible leads.
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) {
      d.setAttribute('data-was-open', d.open ? '1' : '0');
      d.open = true;
    });
  });
  window.addEventListener('afterprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) {
      d.open = d.getAttribute('data-was-open') === '1';
    });
  });

  readHash();
  apply();
  body.setAttribute('data-errors', String(window.oneleadErrors || 0));
  body.setAttribute('data-ready', '1');
}());
