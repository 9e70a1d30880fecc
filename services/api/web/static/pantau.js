// Refresh the list every minute without reloading the page; filters ride along in data-src.
// The list's ETag rides in data-etag, so an unchanged list costs a 304 and no body.
(function () {
  var box = document.getElementById("daftar");
  if (!box || !window.fetch) return;
  var src = box.getAttribute("data-src");
  var etag = box.getAttribute("data-etag");
  function refresh() {
    // Never pull the list out from under a keyboard or screen-reader user.
    if (document.hidden || box.contains(document.activeElement)) return;
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(src, { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (r) {
        if (r.status !== 200) return null;
        etag = r.headers.get("ETag") || etag;
        return r.text();
      })
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
