/**
 * The ERP token service's port: whose program listens on it (this user's `serve`, another
 * user's program, nobody), and whether the client keys still work. On a terminal server every
 * user shares 127.0.0.1, so one user's port taken by another is the usual reason an ERP gets no
 * token (or, before proofs, someone else's answer).
 */
import os from 'node:os';
import { configuredPort, type ServiceContext } from '../service/manager.js';
import { describeHolders, portOwner } from '../service/port-owner.js';
import { probeServe } from '../service/probe.js';
import { storeOrNothing, type Check, type Finding } from './check.js';

const CHECK = 'serve-port';

export const servePortCheck: Check = {
  id: CHECK,
  async run(ctx) {
    const uid = process.getuid?.();
    const svc: ServiceContext = { platform: ctx.platform, home: ctx.home, env: ctx.env, uid: uid ?? 0, run: ctx.run };
    const { port, from } = configuredPort(svc, ctx.paths.dataDir);
    const clients = (await (await storeOrNothing(ctx))?.listApiClients()) ?? [];
    const expected = from === 'service' || clients.length > 0;
    const subject = `port ${port}`;
    const whose = from === 'service' ? "the installed service's port" : "this user's default port";
    const owner = portOwner(port, {
      platform: ctx.platform,
      uid,
      run: ctx.run,
      windowsUser: ctx.env.USERDOMAIN ? `${ctx.env.USERDOMAIN}\\${ctx.env.USERNAME ?? ''}` : os.userInfo().username,
    });
    const held = describeHolders(owner, port);
    const findings: Finding[] = [];
    const otherPort = {
      ro: `Dați acestui utilizator un port propriu: "anaf-token service install --port N" (și același port în setările ERP-ului), sau opriți programul celuilalt utilizator.`,
      en: `Give this user a port of its own: "anaf-token service install --port N" (and the same port in the ERP's settings), or stop the other user's program.`,
    };
    switch (owner.who) {
      case 'us': {
        const answers = await probeServe(port, ctx.timeoutMs);
        findings.push(
          answers
            ? { check: CHECK, subject, status: 'ok', message: `anaf-token serve of this user answers on ${whose} (${held})` }
            : {
                check: CHECK,
                subject,
                status: 'warn',
                message: `a program of this user holds ${whose}, but it is not anaf-token serve (${held})`,
                advice: { ro: 'Opriți acel program sau folosiți alt port (--port).', en: 'Stop that program or use another port (--port).' },
              },
        );
        break;
      }
      case 'other':
        findings.push({
          check: CHECK,
          subject,
          status: expected ? 'fail' : 'warn',
          message: `${whose} is held by ${held}: this user's serve cannot start there, and an ERP calling it reaches the other user's program`,
          advice: otherPort,
        });
        break;
      case 'nobody':
        findings.push(
          from === 'service'
            ? {
                check: CHECK,
                subject,
                status: 'warn',
                message: `the service is installed for port ${port}, but nothing listens there`,
                advice: {
                  ro: 'Vedeți "anaf-token service status" și jurnalul; porniți-l din nou.',
                  en: 'See "anaf-token service status" and the log; start it again.',
                },
              }
            : {
                check: CHECK,
                subject,
                status: 'info',
                message: `nothing listens on ${whose} (${clients.length ? 'start "anaf-token serve" or "anaf-token service install"' : 'no ERP client set up'})`,
              },
        );
        break;
      case 'unknown': {
        const answers = await probeServe(port, ctx.timeoutMs);
        findings.push({
          check: CHECK,
          subject,
          status: 'info',
          message: `${answers ? 'an anaf-token serve answers' : 'no anaf-token serve answers'} on ${whose}; whose program listens there cannot be told here (${held})`,
        });
        break;
      }
    }
    const old = clients.filter((c) => c.oldKey).map((c) => c.name);
    if (old.length) {
      const again = old.map((n) => `anaf-token clients add ${n}`).join('; ');
      findings.push({
        check: CHECK,
        subject: 'client keys',
        status: 'warn',
        message: `made by an older version, kept as a hash only, no longer working: ${old.join(', ')}`,
        advice: { ro: `Rulați ${again} și puneți cheile noi în setările programelor.`, en: `Run ${again} and put the new keys in the programs' settings.` },
      });
    }
    return findings;
  },
};
