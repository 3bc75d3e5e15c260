import type { RawHeaders } from '../../../app/proxy-events.js';
import type { ExchangeView } from '../model/exchange.js';
import { requestLine, statusLine } from '../store/exchange-row.js';
import { CopyButton } from './CopyButton.js';

/** Header lines as a head writes them, one per line, for pasting into a bug report or a tool. */
function headerLines(headers: RawHeaders): string {
  return headers.map(([name, value]) => `${name}: ${value}`).join('\n');
}

function HeaderTable({ title, headers, first }: { title: string; headers: RawHeaders; first: string }) {
  return (
    <section className="headers-section" aria-label={`${title} headers`}>
      <h3>
        {title}
        {headers.length > 0 && (
          <CopyButton text={() => headerLines(headers)} label={`Copy all ${title.toLowerCase()} headers`}>
            Copy all
          </CopyButton>
        )}
      </h3>
      <p className="mono first-line">{first}</p>
      <table className="headers mono">
        <tbody>
          {headers.map(([name, value], i) => (
            <tr key={`${i}:${name}`}>
              <th scope="row">{name}</th>
              <td>{value}</td>
              <td className="header-copy">
                <CopyButton text={`${name}: ${value}`} label={`Copy header ${name}`} title="Copy name: value">
                  Copy
                </CopyButton>
                <CopyButton text={value} label={`Copy the value of ${name}`} title="Copy the value only">
                  Value
                </CopyButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Request and response heads as they were on the wire: names keep their case, order and repeats. */
export function HeadersView({ x }: { x: ExchangeView }) {
  const { request } = x.opened;
  const response = x.response?.response;
  return (
    <div className="headers-view" data-testid="headers-view">
      <HeaderTable title="Request" headers={request.headers} first={requestLine(x)} />
      {response ? (
        <HeaderTable title="Response" headers={response.headers} first={statusLine(response)} />
      ) : (
        <p className="muted">{x.closed ? 'No response was received.' : 'Waiting for the response head…'}</p>
      )}
    </div>
  );
}
