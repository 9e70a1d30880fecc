// Pantau's service worker, served at /sw.js so that its scope is the whole site.
// It shows the alerts that arrive by web push; a click opens the product's page.
// The payload is JSON: {title, body, url, manage, tag, lang} (services/api/channels/webpush.py).
self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Pantau", {
      body: data.body || "",
      tag: data.tag || undefined, // a repeated delivery replaces, never stacks
      lang: data.lang || "id",
      icon: "/static/icon.svg",
      badge: "/static/icon.svg",
      data: { url: data.url || "/" },
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data || {}).url || "/", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (open) {
      for (var i = 0; i < open.length; i++) {
        if (open[i].url === url && "focus" in open[i]) return open[i].focus();
      }
      return self.clients.openWindow(url);
    })
  );
});
