/* context viewcontent: comments and likes under a page or blog post. */
AJS.toInit(function () {
  var id = AJS.meta("page-id");
  if (!id) { return; }
  AJS.get("/rest/api/content/" + id + "/child/comment?expand=body.view&depth=all", function (status, data) {
    var box = AJS.$("#comments-section");
    if (status !== 200 || !data || !box) { return; }
    box.innerHTML = data.results.map(function (c) {
      return '<div class="comment"><div class="comment-body">' + AJS.escapeHtml(c.body.view.value) + '</div></div>';
    }).join("") + '<div class="quick-comment-prompt">Write a comment...</div>';
  });
  AJS.get("/rest/likes/1.0/content/" + id + "/likes", function (status, data) {
    var el = AJS.$(".like-button-text");
    if (status === 200 && data && el) { el.textContent = data.likes.length + " like(s)"; }
  });
});
