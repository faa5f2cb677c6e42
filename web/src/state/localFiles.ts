// The files this page holds: what the user picked, dropped or pasted, by a local id, with an
// object URL for the images this browser can draw (the composer's thumbnails, a pending
// message's pictures, and one's own sent pictures until the page closes). Neither Files nor
// object URLs survive a reload, so none of this is persisted: an upload cut short by a reload is
// marked failed (client.ts).
import type { PendingFile } from './model';

/** Types shown inline as pictures: the ones the server makes thumbnails of (JPEG, PNG, WebP, GIF). */
export const INLINE_IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);

interface LocalFile {
  file: File;
  objectUrl?: string;
}

const files = new Map<string, LocalFile>();
/** A sent file's object URL by its media id: one's own pictures show at once, without a download. */
const byMedia = new Map<string, string>();
let counter = 0;

/** What the server accepts as a content type (`type/subtype`, no parameters). */
function contentTypeOf(file: File): string {
  const type = file.type.split(';')[0].trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) ? type : 'application/octet-stream';
}

/** The displayed size of an image file, or undefined when it cannot be decoded here. */
function imageSize(url: string): Promise<{ width: number; height: number } | undefined> {
  return new Promise((resolve) => {
    const image = new Image();
    const timer = setTimeout(() => resolve(undefined), 5000);
    image.onload = () => {
      clearTimeout(timer);
      resolve(image.naturalWidth > 0 ? { width: image.naturalWidth, height: image.naturalHeight } : undefined);
    };
    image.onerror = () => {
      clearTimeout(timer);
      resolve(undefined);
    };
    image.src = url;
  });
}

/** Keeps a file for upload and describes it; pictures get an object URL and their size. */
export async function addLocalFile(file: File): Promise<PendingFile> {
  const localId = `f${Date.now().toString(36)}${(++counter).toString(36)}`;
  const content_type = contentTypeOf(file);
  const entry: LocalFile = { file };
  files.set(localId, entry);
  const pending: PendingFile = { localId, file_name: file.name || 'file', size: file.size, content_type };
  if (INLINE_IMAGE_TYPES.has(content_type)) {
    entry.objectUrl = URL.createObjectURL(file);
    const size = await imageSize(entry.objectUrl);
    if (size) Object.assign(pending, size);
    else {
      URL.revokeObjectURL(entry.objectUrl);
      entry.objectUrl = undefined;
    }
  }
  return pending;
}

export function localFile(localId: string): File | undefined {
  return files.get(localId)?.file;
}

export function localUrl(localId: string | undefined): string | undefined {
  return localId ? files.get(localId)?.objectUrl : undefined;
}

/** The upload became this media id: its picture keeps showing from the local file. */
export function noteUploaded(localId: string, mediaId: string): void {
  const url = files.get(localId)?.objectUrl;
  if (url) byMedia.set(mediaId, url);
}

export function localUrlOfMedia(mediaId: string): string | undefined {
  return byMedia.get(mediaId);
}

/** Lets go of a file that will not be sent (removed, cancelled, discarded). */
export function dropLocalFile(localId: string): void {
  const entry = files.get(localId);
  if (!entry) return;
  files.delete(localId);
  const used = entry.objectUrl && [...byMedia.values()].includes(entry.objectUrl);
  if (entry.objectUrl && !used) URL.revokeObjectURL(entry.objectUrl);
}

/** A file that was sent: the File may go; its object URL stays for the picture on screen. */
export function releaseLocalFile(localId: string): void {
  files.delete(localId);
}
