// The files picked for the next message, above the message box: a thumbnail of each picture
// (from the local file) or its type, name and size, each with a button that takes it out again.
import { fileSize } from '../../state/errors';
import { localUrl } from '../../state/localFiles';
import type { PendingFile } from '../../state/model';
import { Icon } from '../common/icons';
import { useClient } from '../hooks';

export function ComposerFiles(props: { draftKey: string; files: PendingFile[] }) {
  const client = useClient();
  if (props.files.length === 0) return null;
  return (
    <ul class="composer-files" aria-label="Files to send" data-testid="composer-files">
      {props.files.map((file) => {
        const url = localUrl(file.localId);
        return (
          <li key={file.localId} class={`composer-file ${url ? 'composer-file--picture' : ''}`} data-testid="composer-file" data-file-name={file.file_name}>
            {url ? (
              <img class="composer-file__thumb" src={url} alt="" />
            ) : (
              <span class="composer-file__icon" aria-hidden="true"><Icon name="file" size={28} /></span>
            )}
            <span class="composer-file__text">
              <span class="composer-file__name" dir="auto">{file.file_name}</span>
              <span class="composer-file__size">{fileSize(file.size)}</span>
            </span>
            <button
              type="button"
              class="icon-button icon-button--small composer-file__remove"
              aria-label={`Remove ${file.file_name}`}
              title="Remove"
              onClick={() => client.removeComposerFile(props.draftKey, file.localId)}
            >
              <Icon name="close" size={16} />
            </button>
          </li>
        );
      })}
    </ul>
  );
}
