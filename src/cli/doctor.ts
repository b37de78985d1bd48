import type { Command } from 'commander';
import { exitCodeOf, formatFinding } from '../doctor/finding.js';
import { fail } from './output.js';

/** `relay doctor`: one line per check (ok, warning, problem, skipped); exit 1 when any is a problem. */
export async function doctorCommand(flags: { config?: string }): Promise<void> {
  try {
    // Imported here: every command (`relay start` too) registers this one, few run it.
    const { runDoctor } = await import('../doctor/run.js');
    const findings = await runDoctor(flags.config);
    process.stdout.write(`${findings.map(formatFinding).join('\n')}\n`);
    process.exitCode = exitCodeOf(findings);
  } catch (err) {
    fail(err);
  }
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('explain what is wrong: config, Redis, provider registration, loops, rejection patterns')
    .option('--config <file>', 'config file (default: $RELAY_CONFIG, then ./relay.yaml)')
    .action(doctorCommand);
}
