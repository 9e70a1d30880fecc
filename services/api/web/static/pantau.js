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

// Web push on the subscribe form: shown only where the browser can do it (the form works
// without script for the other channels). On submit with web push chosen: ask for the
// permission, register the service worker, subscribe with the server's VAPID public key
// and post the subscription in the form's hidden `push` field.
(function () {
  var form = document.querySelector("form[data-push-key]");
  if (!form || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  if (!window.Notification) return;
  var choice = form.querySelector("[data-push]");
  var error = form.querySelector("[data-push-error]");
  if (choice) choice.hidden = false;
  navigator.serviceWorker.register("/sw.js").catch(function () {});
  function keyBytes(b64url) {
    var raw = atob(b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  form.addEventListener("submit", function (event) {
    var picked = form.querySelector('input[name="channel"]:checked');
    if (!picked || picked.value !== "webpush" || form.elements.push.value) return;
    event.preventDefault();
    if (error) error.hidden = true;
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") throw new Error(permission);
        return navigator.serviceWorker.register("/sw.js").then(function () {
          return navigator.serviceWorker.ready;
        });
      })
      .then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(form.getAttribute("data-push-key")),
        });
      })
      .then(function (subscription) {
        form.elements.push.value = JSON.stringify(subscription.toJSON());
        form.submit();
      })
      .catch(function () {
        if (error) error.hidden = false;
      });
  });
})();
