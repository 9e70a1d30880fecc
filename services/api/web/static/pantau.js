// Refresh the list every minute without reloading the page; filters ride along in data-src.
(function () {
  var box = document.getElementById("daftar");
  if (!box || !window.fetch) return;
  var src = box.getAttribute("data-src");
  function refresh() {
    // Never pull the list out from under a keyboard or screen-reader user.
    if (document.hidden || box.contains(document.activeElement)) return;
    fetch(src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var open = [];
        box.querySelectorAll("details[open]").forEach(function (d) {
          var card = d.closest("article");
          if (card) open.push(card.getAttribute("aria-labelledby"));
        });
        box.innerHTML = html;
        open.forEach(function (id) {
          var d = box.querySelector('article[aria-labelledby="' + id + '"] details');
          if (d) d.open = true;
        });
      })
      .catch(function () {});
  }
  setInterval(refresh, 60000);
})();
