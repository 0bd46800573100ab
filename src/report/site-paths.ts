// Where the channel site's pages are: permalinks that depend only on the block and the channel.
// Browser-safe.

/** The site's folder inside the analysis folder. */
export const SITE_DIR = 'site';

/** A channel page's path relative to the site's folder: 'block-2.1/channel-17.html'. */
export function channelPagePath(block: string, channel: number): string {
  return `block-${block}/channel-${channel}.html`;
}

/** A block index's path relative to the site's folder: 'block-2.1/index.html'. */
export function blockPagePath(block: string): string {
  return `block-${block}/index.html`;
}
