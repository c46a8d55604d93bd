/**
 * Listening on this computer's loopback addresses, shared by `serve` and `authorize --listen`.
 * Both listen on 127.0.0.1 and ::1, because "localhost" may resolve to either: a failure on ::1
 * other than IPv6 being absent stops them, or another program there would get what is ours.
 */
import type { AddressInfo, Server } from 'node:net';

/** IPv6 switched off or absent: listening on IPv4 alone is then safe. */
export const IPV6_ABSENT: ReadonlySet<string> = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EPROTONOSUPPORT']);

/** The system error's code (EADDRINUSE, …), else its message. */
export const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Listens on one address (::1 alone, not the IPv4 space behind it); resolves to the port. */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: host === '::1' }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
