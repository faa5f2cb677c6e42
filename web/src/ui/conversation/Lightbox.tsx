// The pictures of one message, full size, over everything: a modal native <dialog> (the browser
// keeps the focus inside and closes it on Escape), with the file name, "2 of 3", a download link,
// previous / next (buttons and the arrow keys) and the caption. The full image comes through its
// own short-lived URL; the thumbnail (or the tiny preview) shows until it has loaded.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { localUrlOfMedia } from '../../state/localFiles';
import { Icon } from '../common/icons';
import { DownloadLink, useMediaUrl } from './mediaLinks';
import type { LineAttachment } from './items';

export function Lightbox(props: { pictures: LineAttachment[]; start: number; caption?: string; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [index, setIndex] = useState(props.start);
  const picture = props.pictures[Math.min(index, props.pictures.length - 1)];
  const media = picture.media!;
  const urls = useMediaUrl(media.id, true);
  const full = urls?.url ?? localUrlOfMedia(media.id);
  const placeholder = urls?.thumbnailUrl ?? localUrlOfMedia(media.id) ?? (media.preview ? `data:image/jpeg;base64,${media.preview}` : undefined);
  const [loaded, setLoaded] = useState<string | null>(null);
  const count = props.pictures.length;

  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  // Where the focus was before (the picture's button) gets it back.
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    return () => {
      if (before?.isConnected) before.focus({ preventScroll: true });
    };
  }, []);

  function go(step: number) {
    setIndex((current) => (current + step + count) % count);
  }

  const style: Record<string, string> = {};
  if (media.width && media.height) style.aspectRatio = `${media.width} / ${media.height}`;

  return (
    <dialog
      ref={ref}
      class="lightbox"
      aria-label={count > 1 ? `${media.file_name}, photo ${index + 1} of ${count}` : media.file_name}
      data-testid="lightbox"
      onClose={props.onClose}
      onKeyDown={(event) => {
        if (event.key === 'ArrowLeft' && count > 1) {
          event.preventDefault();
          go(-1);
        } else if (event.key === 'ArrowRight' && count > 1) {
          event.preventDefault();
          go(1);
        }
      }}
      onClick={(event) => {
        // A click beside the picture (on the dark backdrop) closes it, as in other apps.
        const target = event.target as HTMLElement;
        if (target === ref.current || target.classList.contains('lightbox__stage')) props.onClose();
      }}
    >
      <div class="lightbox__bar">
        <span class="lightbox__title" dir="auto">{media.file_name}</span>
        {count > 1 ? <span class="lightbox__count">{index + 1} of {count}</span> : null}
        <DownloadLink mediaId={media.id} fileName={media.file_name} class="icon-button lightbox__button">
          <Icon name="download" />
        </DownloadLink>
        <button type="button" class="icon-button lightbox__button" aria-label="Close" title="Close (Escape)" onClick={props.onClose}>
          <Icon name="close" />
        </button>
      </div>
      <div class="lightbox__stage">
        {count > 1 ? (
          <button type="button" class="icon-button lightbox__nav lightbox__nav--previous" aria-label="Previous photo" title="Previous (←)" onClick={() => go(-1)}>
            <Icon name="chevronLeft" />
          </button>
        ) : null}
        <div class="lightbox__frame" style={style}>
          {placeholder && loaded !== full ? <img class="lightbox__placeholder" src={placeholder} alt="" aria-hidden="true" /> : null}
          {full ? (
            <img
              key={full}
              class="lightbox__image"
              src={full}
              alt={media.file_name}
              data-testid="lightbox-image"
              data-loaded={loaded === full ? 'true' : undefined}
              onLoad={() => setLoaded(full)}
            />
          ) : null}
        </div>
        {count > 1 ? (
          <button type="button" class="icon-button lightbox__nav lightbox__nav--next" aria-label="Next photo" title="Next (→)" onClick={() => go(1)}>
            <Icon name="chevronRight" />
          </button>
        ) : null}
      </div>
      {props.caption ? <p class="lightbox__caption" dir="auto">{props.caption}</p> : null}
    </dialog>
  );
}
