#!/usr/bin/env python3
"""Write a HAR 1.2 file of about SIZE bytes that looks like Chrome's "Save all as HAR with content"
after a long Jira + Confluence session behind CloudFront.

Entries cycle through what those products really load: pages, REST calls, /s/ superbatch /
contextbatch / batch JS and CSS, fonts, avatars, /download/resources, Synchrony JS, favicon;
with the request headers Chrome records (cookies: JSESSIONID, seraph.rememberme.cookie,
atlassian.xsrf.token, AWSALB/AWSALBCORS), CloudFront response headers (X-Cache Hit/Miss/
RefreshHit/Error, Via, X-Amz-Cf-Pop, X-Amz-Cf-Id, Age), Atlassian's (X-AREQUESTID, X-ASESSIONID,
X-AUSERNAME, Expires = Date), Set-Cookie rotating AWSALB, timings, Chrome's _resourceType,
_initiator and _priority, and bodies (text for HTML/JSON/JS/CSS, base64 for fonts and images),
kept a few KB each. Deterministic (seeded). Usage: gen_har.py OUT.har [SIZE_BYTES]
"""
import base64
import json
import random
import sys
from datetime import datetime, timedelta, timezone

out_path = sys.argv[1]
target = int(sys.argv[2]) if len(sys.argv) > 2 else 100 * 1024 * 1024
rnd = random.Random(8)

JIRA = "https://jira.example.com"
CONF = "https://confluence.example.com"
POPS = ["FRA56-P1", "FRA56-P4", "AMS1-C1", "LHR61-P2", "IAD89-C3"]
UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/146.0.0.0 Safari/537.36")
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
         "ut labore et dolore magna aliqua. ")


def hexs(n):
    return "".join(rnd.choice("0123456789abcdef") for _ in range(n))


def cfid():
    return base64.urlsafe_b64encode(rnd.randbytes(42)).decode()


def static_path(kind, ext):
    h = hexs(32)
    b = rnd.choice(["920002", "940003", "950001"])
    ctx = rnd.choice(["jira.general", "atl.dashboard", "jira.view.issue", "atl.global",
                      "com.atlassian.jira.projects.sidebar.init", "jira.navigator.advanced"])
    if kind == "superbatch":
        return f"/s/{hexs(28)}-CDN/-1h8ld8/{b}/{h[:6]}/{rnd.randint(1,9)}/_/download/superbatch/{ext}/batch.{ext}?locale=en-US"
    if kind == "contextbatch":
        return (f"/s/{hexs(28)}-CDN/-1h8ld8/{b}/{h[:6]}/{h[6:38]}/_/download/contextbatch/{ext}/"
                f"{ctx},-_super/batch.{ext}?agile_global_admin_condition=true&jag=true&locale=en-US")
    return (f"/s/{hexs(28)}-CDN/-1h8ld8/{b}/{h[:6]}/{rnd.randint(1,12)}.{rnd.randint(0,9)}.{rnd.randint(0,9)}"
            f"/_/download/batch/com.atlassian.auiplugin:{rnd.choice(['aui-core', 'dialog2', 'aui-select2'])}/"
            f"com.atlassian.auiplugin:{rnd.choice(['aui-core', 'dialog2', 'aui-select2'])}.{ext}?locale=en-US")


def pick():
    r = rnd.random()
    site = JIRA if rnd.random() < 0.6 else CONF
    if r < 0.06:
        p = (rnd.choice(["/secure/Dashboard.jspa", f"/browse/LAB-{rnd.randint(1, 5000)}",
                         "/issues/?jql=project%20%3D%20LAB", "/projects/LAB/summary"])
             if site == JIRA else
             rnd.choice(["/dashboard.action", f"/display/LAB/Page+{rnd.randint(1, 900)}",
                         f"/pages/viewpage.action?pageId={rnd.randint(100000, 999999)}",
                         "/dosearchsite.action?queryString=cdn"]))
        return site, p, "document", "text/html;charset=UTF-8", "html"
    if r < 0.22:
        p = (rnd.choice([f"/rest/api/2/issue/LAB-{rnd.randint(1, 5000)}", "/rest/api/2/myself",
                         f"/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId={rnd.randint(1, 40)}",
                         "/rest/analytics/1.0/publish/bulk", "/rest/helptips/1.0/tips"])
             if site == JIRA else
             rnd.choice(["/rest/api/content?spaceKey=LAB&limit=25", "/rest/mywork/latest/status/notification/count",
                         f"/rest/likes/1.0/content/{rnd.randint(100000, 999999)}/likes",
                         "/rest/webResources/1.0/resources"]))
        return site, p, rnd.choice(["xhr", "fetch"]), "application/json;charset=UTF-8", "json"
    if r < 0.70:
        ext = rnd.choice(["js", "js", "css"])
        kind = rnd.choice(["superbatch", "contextbatch", "batch", "batch"])
        return (site, static_path(kind, ext), "script" if ext == "js" else "stylesheet",
                "application/javascript;charset=UTF-8" if ext == "js" else "text/css;charset=UTF-8", ext)
    if r < 0.78:
        f = rnd.choice(["adgs-icons.woff", "adgs-icons.woff2", "atlassian-icons.ttf", "atlassian-icons.eot"])
        return (site, f"/s/{hexs(28)}-CDN/-1h8ld8/920002/{hexs(6)}/9.2.1/_/download/resources/"
                f"com.atlassian.auiplugin:aui-core/assets/fonts/{f}", "font", "font/woff2", "font")
    if r < 0.90:
        p = rnd.choice([f"/secure/useravatar?size=small&avatarId={rnd.randint(10100, 10500)}",
                        f"/secure/projectavatar?pid={rnd.randint(10000, 10100)}&avatarId={rnd.randint(10100, 10500)}",
                        f"/secure/viewavatar?size=xsmall&avatarId={rnd.randint(10100, 10500)}&avatarType=issuetype"])
        return site, p, "image", "image/png", "image"
    if r < 0.97:
        p = (f"/download/resources/com.atlassian.{rnd.choice(['jira.jira-view-issue-plugin', 'confluence.editor'])}:"
             f"{hexs(8)}/{rnd.choice(['images/loading.gif', 'icons/lozenge.svg', 'css/theme.css'])}")
        return site, p, "image" if not p.endswith("css") else "stylesheet", "image/svg+xml", "image"
    if site == CONF:
        return site, "/synchrony-proxy/resources/js/synchrony.min.js", "script", "application/javascript", "js"
    return site, "/favicon.ico", "image", "image/x-icon", "image"


def body(kind):
    if kind == "html":
        t = "<!DOCTYPE html><html><head><title>Dashboard</title></head><body>" + LOREM * rnd.randint(30, 70) + "</body></html>"
        return {"text": t, "size": len(t)}
    if kind == "json":
        t = json.dumps({"expand": "renderedFields,names,schema", "id": str(rnd.randint(1, 99999)),
                        "fields": {"summary": LOREM[: rnd.randint(20, 120)], "description": LOREM * rnd.randint(3, 12)}})
        return {"text": t, "size": len(t)}
    if kind in ("js", "css"):
        unit = ("define('jira/util/x',['require'],function(r){'use strict';return{a:1,b:function(){return r('x')}}});\n"
                if kind == "js" else ".aui-button{color:#42526e;background:#f4f5f7;border-radius:3.01px}\n")
        t = unit * rnd.randint(10, 50)
        return {"text": t, "size": len(t) * 4, "compression": len(t) * 3}
    raw = rnd.randbytes(rnd.randint(300, 1500))
    return {"text": base64.b64encode(raw).decode(), "encoding": "base64", "size": len(raw)}


def cache(kind, site, path):
    static = path.startswith("/s/") or path.startswith("/download/") or "avatar" in path or path.endswith(".js") or path == "/favicon.ico"
    if static:
        x = rnd.choices(["Hit", "Miss", "RefreshHit", "Error"], [70, 25, 4, 1])[0]
    else:
        x = "Miss"
    return x, static


t0 = datetime(2025, 3, 4, 9, 0, 0, tzinfo=timezone.utc)


def entry(i):
    site, path, rtype, ctype, kind = pick()
    url = site + path
    when = t0 + timedelta(milliseconds=i * 37)
    date = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    xc, static = cache(kind, site, path)
    status = 502 if xc == "Error" else (304 if xc == "RefreshHit" and rnd.random() < 0.5 else 200)
    alb = base64.b64encode(rnd.randbytes(90)).decode()
    req_cookies = [("JSESSIONID", hexs(32).upper()), ("seraph.rememberme.cookie", f"{rnd.randint(10000, 99999)}%3A{hexs(40)}"),
                   ("atlassian.xsrf.token", f"B{hexs(3).upper()}-{hexs(4).upper()}-{hexs(4).upper()}-{hexs(4).upper()}_{hexs(40)}_lin"),
                   ("AWSALB", alb), ("AWSALBCORS", alb)]
    qs = []
    if "?" in path:
        for kv in path.split("?", 1)[1].split("&"):
            k, _, v = kv.partition("=")
            qs.append({"name": k, "value": v})
    req_headers = [
        {"name": ":authority", "value": site[8:]}, {"name": ":method", "value": "GET"},
        {"name": ":path", "value": path}, {"name": ":scheme", "value": "https"},
        {"name": "accept", "value": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" if kind == "html" else "*/*"},
        {"name": "accept-encoding", "value": "gzip, deflate, br, zstd"},
        {"name": "accept-language", "value": "en-GB,en;q=0.9"},
        {"name": "cookie", "value": "; ".join(f"{k}={v}" for k, v in req_cookies)},
        {"name": "referer", "value": site + "/secure/Dashboard.jspa"},
        {"name": "sec-ch-ua", "value": '"Chromium";v="146", "Not-A.Brand";v="24"'},
        {"name": "sec-ch-ua-mobile", "value": "?0"}, {"name": "sec-ch-ua-platform", "value": '"Linux"'},
        {"name": "sec-fetch-dest", "value": {"html": "document", "font": "font", "image": "image"}.get(kind, "empty")},
        {"name": "sec-fetch-mode", "value": "navigate" if kind == "html" else ("cors" if kind == "font" else "no-cors")},
        {"name": "sec-fetch-site", "value": "same-origin"},
        {"name": "user-agent", "value": UA},
    ]
    if kind == "font":
        req_headers.append({"name": "origin", "value": site})
    if rtype in ("xhr", "fetch"):
        req_headers.append({"name": "x-requested-with", "value": "XMLHttpRequest"})
    cc = ("max-age=31536000" if path.startswith("/s/") else
          "max-age=86400" if static else "no-cache, no-store, no-transform")
    res_headers = [
        {"name": "content-type", "value": ctype},
        {"name": "date", "value": date},
        {"name": "cache-control", "value": cc},
        {"name": "expires", "value": date if not path.startswith("/s/") else (when + timedelta(days=365)).strftime("%a, %d %b %Y %H:%M:%S GMT")},
        {"name": "vary", "value": "Accept-Encoding, User-Agent"},
        {"name": "x-arequestid", "value": f"{rnd.randint(500, 1400)}x{rnd.randint(100000, 999999)}x{rnd.randint(1, 9)}"},
        {"name": "x-asessionid", "value": hexs(6)},
        {"name": "x-ausername", "value": "alice"},
        {"name": "x-content-type-options", "value": "nosniff"},
        {"name": "strict-transport-security", "value": "max-age=31536000"},
        {"name": "x-cache", "value": f"{xc} from cloudfront"},
        {"name": "via", "value": f"1.1 {hexs(32)}.cloudfront.net (CloudFront)"},
        {"name": "x-amz-cf-pop", "value": rnd.choice(POPS)},
        {"name": "x-amz-cf-id", "value": cfid()},
        {"name": "set-cookie", "value": f"AWSALB={base64.b64encode(rnd.randbytes(90)).decode()}; Expires={(when + timedelta(days=7)).strftime('%a, %d %b %Y %H:%M:%S GMT')}; Path=/"},
        {"name": "set-cookie", "value": f"AWSALBCORS={base64.b64encode(rnd.randbytes(90)).decode()}; Expires={(when + timedelta(days=7)).strftime('%a, %d %b %Y %H:%M:%S GMT')}; Path=/; SameSite=None; Secure"},
    ]
    if xc == "Hit":
        res_headers.append({"name": "age", "value": str(rnd.randint(1, 86000))})
    if kind == "font" and rnd.random() < 0.8:
        res_headers.append({"name": "access-control-allow-origin", "value": site})
    content = body(kind) if status == 200 else {"size": 0, "text": ""}
    content["mimeType"] = ctype
    blocked, dns, connect, ssl = rnd.random() * 3, -1, -1, -1
    send, wait, receive = 0.1 + rnd.random(), 5 + rnd.random() * 200, rnd.random() * 30
    return {
        "_initiator": ({"type": "other"} if kind == "html" else
                       {"type": "script", "stack": {"callFrames": [{"functionName": "", "scriptId": str(rnd.randint(10, 999)),
                        "url": site + static_path("superbatch", "js"), "lineNumber": rnd.randint(0, 9000), "columnNumber": rnd.randint(0, 200)}]}}
                       if rtype in ("xhr", "fetch") else {"type": "parser", "url": site + "/secure/Dashboard.jspa", "lineNumber": rnd.randint(1, 300)}),
        "_priority": rnd.choice(["VeryHigh", "High", "Low"]),
        "_resourceType": rtype,
        "cache": {},
        "connection": str(rnd.randint(1000, 90000)),
        "pageref": f"page_{i // 120 + 1}",
        "request": {
            "method": "GET", "url": url, "httpVersion": "http/2.0", "headers": req_headers,
            "queryString": qs,
            "cookies": [{"name": k, "value": v, "path": "/", "domain": site[8:], "expires": "2026-01-01T00:00:00.000Z",
                         "httpOnly": k == "JSESSIONID", "secure": True} for k, v in req_cookies],
            "headersSize": -1, "bodySize": 0,
        },
        "response": {
            "status": status, "statusText": "", "httpVersion": "http/2.0", "headers": res_headers,
            "cookies": [{"name": n, "value": base64.b64encode(rnd.randbytes(90)).decode(), "path": "/",
                         "expires": "2025-03-11T09:00:00.000Z", "httpOnly": False, "secure": n == "AWSALBCORS"}
                        for n in ("AWSALB", "AWSALBCORS")],
            "content": content, "redirectURL": "", "headersSize": -1,
            "bodySize": content.get("compression", content["size"]), "_transferSize": content["size"] + 900,
            "_error": None,
        },
        "serverIPAddress": f"13.224.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}",
        "startedDateTime": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
        "time": blocked + send + wait + receive,
        "timings": {"blocked": blocked, "dns": dns, "ssl": ssl, "connect": connect, "send": send,
                    "wait": wait, "receive": receive, "_blocked_queueing": blocked * 0.8},
    }


with open(out_path, "w") as f:
    f.write('{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"pages":[')
    f.write(",".join(json.dumps({"startedDateTime": t0.isoformat(), "id": f"page_{k}", "title": f"{JIRA}/secure/Dashboard.jspa",
                                 "pageTimings": {"onContentLoad": 812.4, "onLoad": 1530.2}}) for k in range(1, 400)))
    f.write('],"entries":[')
    written, i = 0, 0
    while written < target - 4096:
        s = json.dumps(entry(i), separators=(",", ":"))
        if i:
            f.write(",")
            written += 1
        f.write(s)
        written += len(s)
        i += 1
    f.write("]}}")
print(json.dumps({"file": out_path, "entries": i, "bytes": written}))
