// Download URLs in components: a hook that asks for a media id's URLs (batched by
// state/mediaUrls.ts) and re-renders when they come, and a download link that is always good
// when clicked.
import type { ComponentChildren } from 'preact';
import { useEffect, useReducer } from 'preact/hooks';
import type { MediaUrl } from '../../state/mediaUrls';
import { useAppState, useClient } from '../hooks';

/** The download URLs of a media id, asked for (batched with the others) while `wanted`. */
export function useMediaUrl(mediaId: string | undefined, wanted: boolean): MediaUrl | undefined {
  const client = useClient();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const phase = useAppState((s) => s.phase);
  useEffect(() => client.mediaUrls.subscribe(() => rerender(0)), [client]);
  const url = mediaId ? client.mediaUrls.get(mediaId) : undefined;
  useEffect(() => {
    if (mediaId && wanted && !url) client.mediaUrls.want([mediaId]);
  }, [mediaId, wanted, !url, phase === 'live']);
  return url;
}

/**
 * Whether a download URL is of another origin (media.backend = s3: the store's pre-signed URL).
 * A browser ignores `download` on such a link and follows it, and a file the store serves inline
 * (a picture, a video) would replace the app, ending its uploads: it opens in a new tab instead.
 */
function elsewhere(url: string): boolean {
  return new URL(url, location.href).origin !== location.origin;
}

/**
 * A link that downloads a media file with a URL good right now: the one known, or (expired) a
 * new one asked for on the click.
 */
export function DownloadLink(props: { mediaId: string; fileName: string; class?: string; children: ComponentChildren; label?: string }) {
  const client = useClient();
  const url = useMediaUrl(props.mediaId, true);
  const newTab = !!url && elsewhere(url.url);
  return (
    <a
      class={props.class}
      href={url?.url}
      download={props.fileName}
      target={newTab ? '_blank' : undefined}
      rel={newTab ? 'noopener noreferrer' : undefined}
      aria-label={props.label ?? `Download ${props.fileName}`}
      data-testid="download-link"
      onClick={(event) => {
        if (client.mediaUrls.get(props.mediaId)) return; // fresh: the browser follows it
        event.preventDefault();
        void client.mediaUrls.fresh(props.mediaId).then((fresh) => {
          if (!fresh) {
            client.toast(`“${props.fileName}” is not available any more.`);
            return;
          }
          const link = document.createElement('a');
          link.href = fresh.url;
          link.download = props.fileName;
          if (elsewhere(fresh.url)) {
            link.target = '_blank';
            link.rel = 'noopener noreferrer';
          }
          link.click();
        });
      }}
    >
      {props.children}
    </a>
  );
}

