/**
 * Generates the test PKI used by dev mode and the tests (never for production):
 *
 *   node certs.example/generate.ts [outDir=certs]
 *
 * Idempotent: an existing complete directory is reused as is. Delete it to get fresh material.
 */
import path from 'node:path';
import { ensureDevPki } from '../dev/pki.ts';

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help') || args.length > 1) {
  process.stderr.write('usage: node certs.example/generate.ts [outDir=certs]\n');
  process.exit(args.length > 1 ? 2 : 0);
}

const outDir = path.resolve(args[0] ?? 'certs');
try {
  const pki = await ensureDevPki(outDir);
  process.stdout.write(JSON.stringify(pki, null, 2) + '\n');
} catch (err) {
  process.stderr.write(`generate: ${(err as Error).message}\n`);
  process.exit(1);
}
