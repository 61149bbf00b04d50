// The admin pages' own script, plain JavaScript (no WASM), loaded with the
// page's CSP nonce on every signed-in page. Pages read correctly without
// it: times are UTC, and every shortcut only reaches a link or field that
// is on the page anyway. It does two things:
//  - shows times as the admin chose (<body data-time-display>): the
//    browser's local time or "3 h ago"; the UTC value stays in `title`;
//  - runs the keyboard shortcuts that the #keyboard-shortcuts dialog lists
//    (each row's data-keys, data-action, data-focus, data-href), unless the
//    admin turned them off (<body data-shortcuts="off">). No shortcut
//    submits a form or triggers a job.
(() => {
  'use strict';
  const body = document.body;
  const display = body.dataset.timeDisplay || 'utc';

  // ---- Times ----
  const pad = (n) => String(n).padStart(2, '0');
  const zoneFormat = new Intl.DateTimeFormat('en', { timeZoneName: 'short' });
  const zone = (date) => zoneFormat.formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? '';
  const localText = (date) =>
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone(date)}`;
  const relativeText = (date, now) => {
    const seconds = Math.round((now - date.getTime()) / 1000);
    const size = Math.abs(seconds);
    const [value, unit] =
      size < 60 ? [size, 's']
        : size < 3600 ? [Math.floor(size / 60), 'min']
          : size < 86400 ? [Math.floor(size / 3600), 'h']
            : [Math.floor(size / 86400), 'd'];
    return seconds < 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
  };
  const showTimes = () => {
    const now = Date.now();
    for (const time of document.querySelectorAll('time[datetime]')) {
      const date = new Date(time.getAttribute('datetime'));
      if (Number.isNaN(date.getTime())) continue;
      time.textContent = display === 'local' ? localText(date) : relativeText(date, now);
    }
  };
  if (display === 'local' || display === 'relative') {
    showTimes();
    for (const label of document.querySelectorAll('[data-time-zone]')) {
      label.textContent = display === 'local' ? '(local time)' : '';
    }
    body.classList.add(`times-${display}`);
    // "3 h ago" ages while the page is open.
    if (display === 'relative') setInterval(showTimes, 30_000);
  }

  // ---- Keyboard shortcuts ----
  const help = document.getElementById('keyboard-shortcuts');
  if (!help) return;
  const openHelp = () => {
    if (!help.open) help.showModal();
  };
  for (const link of document.querySelectorAll('a.shortcuts-link')) {
    link.hidden = false;
    link.addEventListener('click', (event) => {
      event.preventDefault();
      openHelp();
    });
  }
  for (const button of help.querySelectorAll('button[data-close]')) {
    button.addEventListener('click', () => help.close());
  }

  const focusOn = (selector) => {
    const field = selector && document.querySelector(selector);
    if (!field) return false;
    field.focus();
    field.scrollIntoView({ block: 'nearest' });
    return true;
  };
  // "g i" on a page without the field went to a page that has it.
  const arrivedFor = [...help.querySelectorAll('[data-focus][data-href]')].find(
    (row) => new URL(row.dataset.href, location.href).hash === location.hash && location.hash,
  );
  if (arrivedFor) focusOn(arrivedFor.dataset.focus);

  if (body.dataset.shortcuts === 'off') return;

  const bindings = new Map();
  for (const row of help.querySelectorAll('[data-keys]')) {
    bindings.set(row.dataset.keys, row.dataset);
  }
  const prefixes = new Set([...bindings.keys()].filter((keys) => keys.includes(' ')).map((keys) => keys.split(' ')[0]));

  const rows = () => [...document.querySelectorAll('table[data-row-nav] tbody tr')];
  let current = -1;
  const highlight = (step) => {
    const all = rows();
    if (all.length === 0) return;
    current = current < 0 ? (step > 0 ? 0 : all.length - 1) : Math.max(0, Math.min(all.length - 1, current + step));
    all.forEach((row, index) => {
      row.classList.toggle('row-highlight', index === current);
      if (index === current) row.setAttribute('aria-current', 'true');
      else row.removeAttribute('aria-current');
    });
    all[current].scrollIntoView({ block: 'nearest' });
  };
  const interactive = (element) =>
    element instanceof Element && element !== body && element.closest('a, button, summary, input, select, textarea, [tabindex], [contenteditable]');

  const run = (binding, target) => {
    switch (binding.action) {
      case 'help':
        openHelp();
        return true;
      case 'focus':
        if (!focusOn(binding.focus) && binding.href) location.assign(binding.href);
        return true;
      case 'go':
        location.assign(binding.href);
        return true;
      case 'row-next':
        highlight(1);
        return rows().length > 0;
      case 'row-previous':
        highlight(-1);
        return rows().length > 0;
      case 'row-open': {
        // Enter on a focused link or button does what it always does.
        const link = current >= 0 && !interactive(target) && rows()[current]?.querySelector('a[href]');
        if (link) location.assign(link.href);
        return Boolean(link);
      }
      default:
        return false;
    }
  };

  let pending = null;
  let pendingTimer = 0;
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && target.closest('input, textarea, select, [contenteditable]:not([contenteditable="false"])')) return;
    // An open dialog (this list, the trigger's confirmation) has its own keys.
    if (document.querySelector('dialog[open]')) return;
    const key = event.key;
    if (pending !== null) {
      const binding = bindings.get(`${pending} ${key}`);
      pending = null;
      clearTimeout(pendingTimer);
      if (binding && run(binding, target)) event.preventDefault();
      return;
    }
    if (prefixes.has(key)) {
      pending = key;
      pendingTimer = setTimeout(() => {
        pending = null;
      }, 1500);
      event.preventDefault();
      return;
    }
    const binding = bindings.get(key);
    if (binding && run(binding, target)) event.preventDefault();
  });
})();
