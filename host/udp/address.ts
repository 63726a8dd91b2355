// `udp://host:port` names a UDP listener (issue 13's shared decision); a plain `host:port` stays TCP,
// so every config written before UDP existed keeps its meaning.

export const UDP_SCHEME = 'udp://';

/** The listen address without its scheme, and whether it named UDP. The scheme is matched in any ASCII case, as URL schemes are. */
export function splitListenScheme(address: string): { udp: boolean; hostPort: string } {
  if (address.length > UDP_SCHEME.length && address.slice(0, UDP_SCHEME.length).toLowerCase() === UDP_SCHEME) {
    return { udp: true, hostPort: address.slice(UDP_SCHEME.length) };
  }
  return { udp: false, hostPort: address };
}
