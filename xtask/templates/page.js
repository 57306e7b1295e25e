// The report page's script. The page reads fully without it; it only highlights the
// current section in the contents, closes the menu after a choice, opens the collapsed
// blocks for printing, and, once loaded, writes what it measured about itself on <body>
// (data-* attributes) for the browser test (xtask/src/browser.rs) to read back.
(function () {
  'use strict';

  // "div#id.class" for an error message.
  function describe(el) {
    var name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim()) {
      name += '.' + el.className.trim().split(/\s+/).join('.');
    }
    return name;
  }

  // The first element, in document order, that reaches past the left or right edge of the
  // viewport. Inside a box that scrolls or clips sideways nothing counts: it cannot move
  // the page.
  function firstSticking(root, width) {
    for (var child = root.firstElementChild; child; child = child.nextElementSibling) {
      var box = child.getBoundingClientRect();
      if ((box.width > 0 || box.height > 0) && (box.right > width + 0.5 || box.left < -0.5)) {
        return child;
      }
      if (getComputedStyle(child).overflowX === 'visible') {
        var inner = firstSticking(child, width);
        if (inner) return inner;
      }
    }
    return null;
  }

  function measure() {
    var body = document.body;
    var root = document.documentElement;
    var images = Array.prototype.slice.call(document.images);
    var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
    var noAlt = images.filter(function (i) { return !(i.getAttribute('alt') || '').trim(); });
    var dead = Array.prototype.slice.call(document.querySelectorAll('a[href^="#"]'))
      .map(function (a) { return a.getAttribute('href'); })
      .filter(function (href) {
        var id = decodeURIComponent(href.slice(1));
        return !id || !document.getElementById(id);
      });
    var sideways = Math.max(0, root.scrollWidth - root.clientWidth);
    var sticking = firstSticking(body, root.clientWidth);
    var sidebar = document.querySelector('.sidebar');
    var menu = document.querySelector('.menu');
    var shown = function (el) { return !!el && getComputedStyle(el).display !== 'none'; };
    var summary = document.getElementById('summary');
    var marks = {
      'images': images.length,
      'broken-images': broken.length,
      'images-without-alt': noAlt.length,
      'dead-links': dead.length,
      'first-dead-link': dead[0] || '',
      'client-width': root.clientWidth,
      'sideways-scroll': sideways,
      'sticking-out': sticking ? describe(sticking) : '',
      'contents-shown': shown(sidebar) ? 'sidebar' : shown(menu) ? 'menu' : 'none',
      'summary-top': summary ? Math.round(summary.getBoundingClientRect().top + window.scrollY) : -1
    };
    Object.keys(marks).forEach(function (key) { body.setAttribute('data-' + key, marks[key]); });
  }

  // Highlights, in both copies of the contents, the section being read: the last one whose
  // anchor has passed the top quarter of the window.
  function highlight() {
    var links = Array.prototype.slice.call(document.querySelectorAll('.toc a[href^="#"]'));
    var byId = {};
    links.forEach(function (a) {
      var id = a.getAttribute('href').slice(1);
      (byId[id] = byId[id] || []).push(a);
    });
    var anchors = Object.keys(byId)
      .map(function (id) { return document.getElementById(id); })
      .filter(Boolean)
      .sort(function (a, b) {
        return a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
      });
    var sidebar = document.querySelector('.sidebar');
    var current = null;
    var pending = false;
    function update() {
      pending = false;
      var line = window.innerHeight / 4;
      var found = null;
      for (var i = 0; i < anchors.length; i++) {
        if (anchors[i].getBoundingClientRect().top > line) break;
        found = anchors[i].id;
      }
      if (found === current) return;
      if (current) byId[current].forEach(function (a) {
        a.classList.remove('current');
        a.removeAttribute('aria-current');
      });
      current = found;
      if (!current) return;
      byId[current].forEach(function (a) {
        a.classList.add('current');
        a.setAttribute('aria-current', 'location');
        if (sidebar && sidebar.contains(a)) {
          var item = a.getBoundingClientRect();
          var side = sidebar.getBoundingClientRect();
          if (item.top < side.top || item.bottom > side.bottom) {
            sidebar.scrollTop += item.top - side.top - side.height / 3;
          }
        }
      });
    }
    window.addEventListener('scroll', function () {
      if (!pending) {
        pending = true;
        window.requestAnimationFrame(update);
      }
    }, { passive: true });
    update();
  }

  // A link to an anchor just above a collapsed block (an answer's details) opens it.
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    var block = target && (target.nextElementSibling || target.parentNode.nextElementSibling);
    if (block && block.tagName === 'DETAILS' && !block.open) {
      block.open = true;
      target.scrollIntoView();
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    highlight();
    openTarget();
    window.addEventListener('hashchange', openTarget);
    var menu = document.querySelector('.menu');
    if (menu) {
      menu.addEventListener('click', function (event) {
        if (event.target.closest && event.target.closest('a')) menu.open = false;
      });
    }
    var opened = [];
    window.addEventListener('beforeprint', function () {
      Array.prototype.forEach.call(document.querySelectorAll('main details:not([open])'), function (d) {
        d.open = true;
        opened.push(d);
      });
    });
    window.addEventListener('afterprint', function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  });
  window.addEventListener('load', measure);
})();
