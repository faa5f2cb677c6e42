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
 * A link that downloads a media file with a URL good right now: the one known, or (expired) a
 * new one asked for on the click.
 */
export function DownloadLink(props: { mediaId: string; fileName: string; class?: string; children: ComponentChildren; label?: string }) {
  const client = useClient();
  const url = useMediaUrl(props.mediaId, true);
  return (
    <a
      class={props.class}
      href={url?.url}
      download={props.fileName}
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
          link.click();
        });
      }}
    >
      {props.children}
    </a>
  );
}

