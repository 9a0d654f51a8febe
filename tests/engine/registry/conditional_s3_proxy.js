// Test fixture: an HTTP proxy in front of s3rver that enforces S3's conditional writes, which
// s3rver 3.7 ignores. A PutObject carrying If-Match or If-None-Match is checked against the
// object's current ETag (a HEAD to s3rver) and answered 412 PreconditionFailed the way AWS S3
// does (If-Match on a missing object: 404 NoSuchKey). Every request is forwarded one at a time
// per key: that makes check-and-write atomic, and reads never see a half-written object (S3's
// PUT is atomic, s3rver's is not: it streams into the file a concurrent GET reads).
//
// Usage: node conditional_s3_proxy.js <upstream port> <port file>
// Listens on 127.0.0.1:<free port>, writes the port to <port file> once listening.
'use strict';
const http = require('http');
const fs = require('fs');

const upstreamPort = Number(process.argv[2]);
const portFile = process.argv[3];
const keyLocks = new Map();  // path -> promise chain

function withKeyLock(key, fn) {
  const previous = keyLocks.get(key) || Promise.resolve();
  const next = previous.then(fn, fn);
  keyLocks.set(key, next.catch(() => {}));
  return next;
}

function upstream(method, req, body) {
  return new Promise((resolve, reject) => {
    const headers = Object.assign({}, req.headers);
    if (body !== null) headers['content-length'] = String(body.length);
    const out = http.request(
        {host: '127.0.0.1', port: upstreamPort, method, path: req.url, headers},
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({status: res.statusCode, headers: res.headers,
                                       body: Buffer.concat(chunks)}));
        });
    out.on('error', reject);
    if (body !== null && method !== 'HEAD') out.write(body);
    out.end();
  });
}

function s3Error(res, status, code, message) {
  res.writeHead(status, {'content-type': 'application/xml'});
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
          `<Message>${message}</Message></Error>`);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const conditional = req.method === 'PUT' && (ifMatch !== undefined || ifNoneMatch !== undefined);
    try {
      const key = req.url.split('?')[0];
      const reply = await withKeyLock(key, conditional ? async () => {
        const head = await upstream('HEAD', {url: req.url.split('?')[0], headers: {
          host: req.headers.host, authorization: req.headers.authorization,
          'x-amz-date': req.headers['x-amz-date'],
          'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}}, null);
        const exists = head.status === 200;
        const etag = head.headers['etag'];
        if (ifNoneMatch === '*' && exists) return {precondition: 412};
        if (ifMatch !== undefined && !exists) return {precondition: 404};
        if (ifMatch !== undefined && ifMatch !== etag) return {precondition: 412};
        const headers = Object.assign({}, req.headers);
        delete headers['if-match'];
        delete headers['if-none-match'];
        return upstream('PUT', {url: req.url, headers}, body);
      } : () => upstream(req.method, req, req.method === 'GET' || req.method === 'HEAD' ? null : body));
      if (reply.precondition === 412) {
        return s3Error(res, 412, 'PreconditionFailed',
                       'At least one of the pre-conditions you specified did not hold');
      }
      if (reply.precondition === 404) {
        return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      }
      const headers = Object.assign({}, reply.headers);
      delete headers['transfer-encoding'];
      headers['content-length'] = String(reply.body.length);
      res.writeHead(reply.status, headers);
      res.end(req.method === 'HEAD' ? undefined : reply.body);
    } catch (e) {
      s3Error(res, 502, 'BadGateway', String(e));
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
