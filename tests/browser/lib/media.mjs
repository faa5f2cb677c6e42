// Files for the attachment tests: real PNGs made in Node (no image library), and an upload over
// REST as any client would make one (media.upload, the PUT to its URL, media.complete).
import { crc32, deflateSync } from 'node:zlib';

/** A real RGBA PNG of this size: a gradient, so that it compresses to a few hundred bytes. */
export function png(width, height) {
  const row = width * 4 + 1;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * row + 1 + x * 4;
      raw[at] = (x * 255) / width;
      raw[at + 1] = (y * 255) / height;
      raw[at + 2] = 160;
      raw[at + 3] = 255;
    }
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Uploads a file over REST and completes it; returns the server's `media` object. */
export async function uploadFile(api, token, fileName, contentType, bytes) {
  const ticket = await api.call(token, 'POST', '/v1/media', { size: bytes.length, content_type: contentType, file_name: fileName });
  const url = new URL(ticket.upload.url, api.base);
  const put = await fetch(url, { method: ticket.upload.method, headers: ticket.upload.headers, body: bytes });
  if (!put.ok) throw new Error(`PUT ${url.pathname}: HTTP ${put.status} ${await put.text()}`);
  const reply = await api.call(token, 'POST', `/v1/media/${ticket.media_id}/complete`);
  return reply.media;
}
