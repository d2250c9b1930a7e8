// A websocket closed with 4401 means the session ended: go to the login page instead of reconnecting forever.
document.addEventListener("htmx:wsClose", function (evt) {
  var event = evt.detail && evt.detail.event;
  if (event && event.code === 4401) {
    window.location.assign(document.body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }
});
