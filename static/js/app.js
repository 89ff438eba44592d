/* Progressive enhancement only: every page works without it. */
(function () {
  'use strict';

  function each(selector, fn) {
    var nodes = document.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) {
      try { fn(nodes[i], i); } catch (e) { /* never break the page */ }
    }
  }

  // Focus the error summary so it is seen and announced first.
  function errorSummary(summary) {
    summary.focus();
    // Summary links focus the field itself, with its label in view.
    summary.addEventListener('click', function (event) {
      var link = event.target.closest && event.target.closest('a[href^="#"]');
      var target = link && document.getElementById(link.getAttribute('href').slice(1));
      if (!target) return;
      var input = /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) ? target : target.querySelector('input, textarea, select');
      if (!input) return;
      event.preventDefault();
      (input.closest('.form-group') || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }

  function characterCount(wrapper, n) {
    var limit = parseInt(wrapper.getAttribute('data-character-count'), 10);
    var textarea = wrapper.querySelector('textarea');
    if (!textarea || !(limit > 0)) return;

    var counter = document.createElement('div');
    counter.className = 'character-count hint';
    counter.id = (textarea.id || 'textarea-' + n) + '-character-count';
    counter.setAttribute('aria-live', 'polite');
    textarea.parentNode.insertBefore(counter, textarea.nextSibling);

    var describedBy = textarea.getAttribute('aria-describedby');
    textarea.setAttribute('aria-describedby', (describedBy ? describedBy + ' ' : '') + counter.id);

    function update() {
      var left = limit - textarea.value.length;
      var count = Math.abs(left);
      var words = count === 1 ? ' character' : ' characters';
      counter.textContent = left >= 0 ? 'You have ' + count + words + ' remaining' : count + words + ' too many';
      counter.classList.toggle('character-count--error', left < 0);
    }

    // Update after a pause in typing, so screen readers are not flooded.
    var timer;
    textarea.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(update, 400);
    });
    update();
  }

  // Stop a double click sending the same form twice.
  function preventDoubleClick(button) {
    var last = 0;
    button.addEventListener('click', function (event) {
      var now = Date.now();
      if (now - last < 1000) {
        event.preventDefault();
        return;
      }
      last = now;
    });
  }

  // Buttons that need a script (print, copy) are hidden until it runs.
  function printButton(button) {
    button.hidden = false;
    button.addEventListener('click', function () { window.print(); });
  }

  function copyButton(button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    var status = document.querySelector('[data-copied]');
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var lines = [];
      each('#' + source.id + ' li', function (item) { lines.push(item.textContent.trim()); });
      navigator.clipboard.writeText(lines.join('\n')).then(function () {
        if (status) status.textContent = 'Copied. Paste them somewhere safe.';
      }, function () {
        if (status) status.textContent = 'Copying did not work: select the codes and copy them yourself.';
      });
    });
  }

  function init() {
    each('[data-error-summary]', errorSummary);
    each('[data-character-count]', characterCount);
    each('button[data-prevent-double-click]', preventDoubleClick);
    each('button[data-print]', printButton);
    each('button[data-copy]', copyButton);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
