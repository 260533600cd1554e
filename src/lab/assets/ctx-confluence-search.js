/* context search: site search results from the CQL search REST API. */
AJS.toInit(function () {
  var box = AJS.$("#search-results-body");
  if (!box) { return; }
  var m = /[?&]queryString=([^&]*)/.exec(window.location.search);
  var q = m ? decodeURIComponent(m[1].replace(/\+/g, " ")) : "";
  var cql = 'siteSearch ~ "' + q.replace(/"/g, '\\"') + '"';
  AJS.get("/rest/api/search?cql=" + encodeURIComponent(cql) + "&start=0&limit=20&excerpt=highlight",
    function (status, data) {
      if (status !== 200 || !data) { return; }
      var items = data.results.map(function (r) {
        return '<li class="search-result"><h3><a class="search-result-link" href="' + AJS.contextPath() + r.url + '">' +
          AJS.escapeHtml(r.title) + '</a></h3><div class="highlights">' + AJS.escapeHtml(r.excerpt) + '</div></li>';
      });
      box.innerHTML = '<div id="search-result-container"><p class="search-results-count">' + data.totalSize +
        ' results</p><ol class="search-results">' + items.join("") + '</ol></div>';
    });
});
