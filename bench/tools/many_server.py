#!/usr/bin/env python3
"""A page that loads N subresources from 127.0.0.1: the synthetic journey for the memory figure.

GET /           HTML whose script loads N_IMG images and fetch()es N_FETCH JSON URLs, 32 at a time
GET /img/K.gif  a 43-byte GIF
GET /api/K      a small JSON body
GET /__count    how many subresource requests this server answered (plain text)

Every response carries CloudFront-like headers (X-Cache, Via, X-Amz-Cf-Pop, Cache-Control) so
cdnprobe classifies each exchange the way it would on a real site. HTTP/1.1 keep-alive, one
thread per connection. Usage: many_server.py PORT N  (prints "ready" once listening).
"""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
PORT = int(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
N_FETCH = N * 3 // 10
N_IMG = N - N_FETCH
lock = threading.Lock()
served = 0


def page():
    # Loaded by script, 32 at a time: fired all at once, Chromium fails thousands of them itself
    # (net::ERR_INSUFFICIENT_RESOURCES, its cap on a renderer's pending requests).
    script = """<script>
const N_IMG=%d, N_FETCH=%d, tasks=[];
for (let k=0;k<N_IMG;k++) tasks.push(()=>new Promise(ok=>{const i=new Image();i.onload=i.onerror=ok;i.src='/img/'+k+'.gif';}));
for (let k=0;k<N_FETCH;k++) tasks.push(()=>fetch('/api/'+k).then(r=>r.json()).catch(()=>null));
let next=0, failed=0;
async function worker(){ while(next<tasks.length){ await tasks[next++](); } }
Promise.all(Array.from({length:32},worker)).then(()=>{document.title='done';
  const p=document.createElement('p');p.id='done';p.textContent='all '+tasks.length+' requests answered';document.body.append(p);});
</script>""" % (N_IMG, N_FETCH)
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>many</title></head><body>"
        f"<h1>{N} requests</h1>{script}</body></html>"
    ).encode()


PAGE = page()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK stall
    # every keep-alive response by ~40 ms (measured: 21 requests/s instead of thousands).
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def send(self, code, ctype, body, cache):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Cache", "Miss from cloudfront")
        self.send_header("Via", "1.1 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)")
        self.send_header("X-Amz-Cf-Pop", "FRA56-P1")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global served
        p = self.path
        if p == "/":
            self.send(200, "text/html; charset=utf-8", PAGE, "no-cache")
        elif p == "/__count":
            self.send(200, "text/plain", str(served).encode(), "no-store")
        elif p.startswith("/img/"):
            with lock:
                served += 1
            self.send(200, "image/gif", GIF, "max-age=31536000")
        elif p.startswith("/api/"):
            with lock:
                served += 1
            self.send(200, "application/json", b'{"ok":true,"id":"%s"}' % p[5:].encode(), "no-store")
        else:
            self.send(404, "text/plain", b"not found", "no-store")


srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
srv.daemon_threads = True
print("ready", flush=True)
srv.serve_forever()
