// The files of a message: pictures inline (one sized from its width and height before anything
// loads, several in a grid), first the event's tiny blurred preview, then the thumbnail through
// a short-lived URL (media.urls, asked for once the message comes near the view); other files as
// cards with a download link. A message still uploading shows each file's progress and a cancel
// button. A click on a picture opens the lightbox with all of the message's pictures.
import { useEffect, useRef, useState } from 'preact/hooks';
import { fileSize } from '../../state/errors';
import { INLINE_IMAGE_TYPES, localUrl, localUrlOfMedia } from '../../state/localFiles';
import { Icon } from '../common/icons';
import { useAppState, useClient } from '../hooks';
import type { LineAttachment } from './items';
import { Lightbox } from './Lightbox';
import { DownloadLink, useMediaUrl } from './mediaLinks';

/** The largest box a single picture is drawn in (CSS pixels). */
const MAX_WIDTH = 300;
const MAX_HEIGHT = 320;
const MIN_WIDTH = 96;

/** A picture shown inline: an image the server made a thumbnail of, or one being uploaded. */
export function isPicture(attachment: LineAttachment): boolean {
  if (!attachment.width || !attachment.height || !INLINE_IMAGE_TYPES.has(attachment.content_type)) return false;
  return attachment.media ? attachment.media.thumbnail === true : attachment.localId !== undefined;
}

/** True once the element is within a screen or so of the view (then its URLs are asked for). */
function useNearView(ref: { current: Element | null }): boolean {
  const [near, setNear] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element || near) return;
    if (typeof IntersectionObserver === 'undefined') {
      setNear(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        setNear(true);
        observer.disconnect();
      }
    }, { rootMargin: '800px 0px' });
    observer.observe(element);
    return () => observer.disconnect();
  }, [near]);
  return near;
}

function fileLabel(attachment: LineAttachment): string {
  const extension = /\.([A-Za-z0-9]{1,5})$/.exec(attachment.file_name)?.[1];
  if (extension) return extension.toUpperCase();
  return attachment.content_type.split('/')[1]?.slice(0, 5).toUpperCase() ?? 'FILE';
}

/** The bar and the cancel button of a file being uploaded. */
function UploadProgress(props: { attachment: LineAttachment; clientMsgId?: string; overlay?: boolean }) {
  const client = useClient();
  const { attachment } = props;
  const progress = useAppState((s) => (attachment.localId ? s.uploads[attachment.localId] : undefined));
  if (attachment.state !== 'uploading' || !attachment.localId) return null;
  const total = progress?.total || attachment.size || 1;
  const loaded = Math.min(progress?.loaded ?? 0, total);
  const percent = Math.floor((loaded / total) * 100);
  return (
    <div class={`upload ${props.overlay ? 'upload--overlay' : ''}`} data-testid="upload-progress" data-waiting={progress?.waiting ? 'true' : undefined}>
      <progress class="upload__bar" max={total} value={loaded} aria-label={`Uploading ${attachment.file_name}`} />
      <span class="upload__text">
        {progress?.waiting ? 'Waiting for the network…' : `${percent}%`}
      </span>
      {props.clientMsgId ? (
        <button
          type="button"
          class="icon-button icon-button--small upload__cancel"
          aria-label={`Cancel upload of ${attachment.file_name}`}
          title="Cancel upload"
          onClick={() => client.cancelUpload(props.clientMsgId!, attachment.localId!)}
        >
          <Icon name="close" size={18} />
        </button>
      ) : null}
    </div>
  );
}

/** One picture: the blurred preview at once, the thumbnail (or the local file) over it. */
function PictureTile(props: { attachment: LineAttachment; single: boolean; near: boolean; clientMsgId?: string; onOpen(): void }) {
  const client = useClient();
  const { attachment } = props;
  const mediaId = attachment.media?.id;
  const local = localUrl(attachment.localId) ?? (mediaId ? localUrlOfMedia(mediaId) : undefined);
  const remote = useMediaUrl(local ? undefined : mediaId, props.near);
  const src = local ?? remote?.thumbnailUrl;
  const [loaded, setLoaded] = useState<string | null>(null);
  const [broken, setBroken] = useState(false);
  const preview = attachment.media?.preview;
  const width = attachment.width ?? 1;
  const height = attachment.height ?? 1;
  const style: Record<string, string> = {};
  if (props.single) {
    const scale = Math.min(1, MAX_WIDTH / width, MAX_HEIGHT / height);
    style.width = `${Math.max(MIN_WIDTH, Math.round(width * scale))}px`;
    style.aspectRatio = `${width} / ${height}`;
  }
  const label = `Photo ${attachment.file_name}`;
  const clickable = mediaId !== undefined && attachment.state === 'ready';
  const content = (
    <>
      {preview ? <img class="media-tile__preview" src={`data:image/jpeg;base64,${preview}`} alt="" aria-hidden="true" /> : null}
      {src && !broken ? (
        <img
          class={`media-tile__image ${loaded === src ? 'media-tile__image--loaded' : ''}`}
          src={src}
          alt={clickable ? '' : label}
          data-testid="attachment-image"
          data-loaded={loaded === src ? 'true' : undefined}
          onLoad={() => setLoaded(src)}
          onError={() => {
            // An expired URL: ask for a new one (the tile re-renders with it); else give up.
            if (!mediaId || local || !client.mediaUrls.failed(mediaId, src)) setBroken(true);
          }}
        />
      ) : null}
      {broken ? <span class="media-tile__broken"><Icon name="alert" size={20} /> Not available</span> : null}
    </>
  );
  return (
    <div class={`media-tile ${props.single ? 'media-tile--single' : ''}`} style={style} data-testid="attachment" data-kind="picture" data-file-name={attachment.file_name}>
      {clickable ? (
        <button type="button" class="media-tile__open" aria-label={`Open ${label}`} onClick={props.onOpen}>{content}</button>
      ) : (
        <div class="media-tile__open">{content}</div>
      )}
      <UploadProgress attachment={attachment} clientMsgId={props.clientMsgId} overlay />
    </div>
  );
}

/** A file that is not shown inline: type, name, size, and a download link once it is sent. */
function FileCard(props: { attachment: LineAttachment; clientMsgId?: string }) {
  const { attachment } = props;
  const mediaId = attachment.media?.id;
  const body = (
    <>
      <span class="file-card__icon" aria-hidden="true">
        <Icon name="file" size={36} />
        <span class="file-card__type">{fileLabel(attachment)}</span>
      </span>
      <span class="file-card__text">
        <span class="file-card__name" dir="auto" data-testid="file-name">{attachment.file_name}</span>
        <span class="file-card__size" data-testid="file-size">{fileSize(attachment.size)}</span>
      </span>
    </>
  );
  return (
    <div class="file-card" data-testid="attachment" data-kind="file" data-file-name={attachment.file_name}>
      <div class="file-card__row">
        {body}
        {mediaId && attachment.state === 'ready' ? (
          <DownloadLink mediaId={mediaId} fileName={attachment.file_name} class="icon-button file-card__download">
            <Icon name="download" />
          </DownloadLink>
        ) : null}
      </div>
      <UploadProgress attachment={attachment} clientMsgId={props.clientMsgId} />
    </div>
  );
}

export function Attachments(props: { attachments: LineAttachment[]; clientMsgId?: string; caption?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const near = useNearView(ref);
  const [open, setOpen] = useState<number | null>(null);
  const pictures = props.attachments.filter(isPicture);
  const files = props.attachments.filter((attachment) => !isPicture(attachment));
  const viewable = pictures.filter((picture) => picture.media && picture.state === 'ready');
  const odd = pictures.length > 1 && pictures.length % 2 === 1;
  return (
    <div ref={ref} class="attachments">
      {pictures.length ? (
        <div class={`media-grid ${pictures.length > 1 ? 'media-grid--several' : ''} ${odd ? 'media-grid--odd' : ''}`}>
          {pictures.map((picture) => (
            <PictureTile
              key={picture.key}
              attachment={picture}
              single={pictures.length === 1}
              near={near}
              clientMsgId={props.clientMsgId}
              onOpen={() => setOpen(Math.max(0, viewable.indexOf(picture)))}
            />
          ))}
        </div>
      ) : null}
      {files.map((file) => <FileCard key={file.key} attachment={file} clientMsgId={props.clientMsgId} />)}
      {open !== null && viewable.length ? (
        <Lightbox pictures={viewable} start={Math.min(open, viewable.length - 1)} caption={props.caption} onClose={() => setOpen(null)} />
      ) : null}
    </div>
  );
}
