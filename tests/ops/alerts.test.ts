import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '@settle/config';
import { ensureTool, ToolMissingError } from '../../scripts/ensure-tool';

const prometheusDir = path.join(repoRoot, 'infra/prometheus');
const testsDir = path.join(prometheusDir, 'tests');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name: string;
  alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }>;
}

const alerts = (parse(fs.readFileSync(path.join(prometheusDir, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups
  .flatMap((group) => group.rules)
  .filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);
const testFiles = fs.readdirSync(testsDir).filter((file) => file.endsWith('.test.yml'));

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const anchors = new Set(
  fs
    .readFileSync(path.join(repoRoot, 'docs/runbook.md'), 'utf8')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) =>
      line
        .replace(/^#+ /, '')
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} -]/gu, '')
        .replace(/ /g, '-'),
    ),
);

describe('Prometheus alerts (infra/prometheus)', () => {
  let promtool: string;
  beforeAll(() => {
    promtool = ensureTool({ command: 'promtool', aptPackage: 'prometheus' });
  });
  const run = (...args: string[]): { status: number | null; output: string } => {
    const result = spawnSync(promtool, args, { cwd: prometheusDir, encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  it('the rules and the local scrape config pass promtool check', () => {
    const rules = run('check', 'rules', 'alerts.yml');
    expect(rules.output).toContain(`SUCCESS: ${alerts.length + 1} rules found`);
    expect(rules.status).toBe(0);
    const config = run('check', 'config', 'prometheus.yml');
    expect(config.output).toContain('is valid prometheus config file syntax');
    expect(config.status).toBe(0);
  });

  it('every alert has a summary, a description and a runbook_url naming a section of docs/runbook.md', () => {
    expect(alerts.map((rule) => rule.alert).sort()).toEqual(
      [
        'SettleApi5xxRatioHigh',
        'SettleDeadLettersHigh',
        'SettleDisputePastSla',
        'SettleNoActiveRelay',
        'SettleNotificationDeliveryP99High',
        'SettleNotifierNoProgress',
        'SettleOutboxBacklog',
        'SettleRelayNoProgress',
        'SettleRelaySlotLagHigh',
        'SettleRelaySlotMissing',
        'SettleStuckOrders',
        'SettleWorkerNoProgress',
      ].sort(),
    );
    for (const rule of alerts) {
      expect(rule.annotations?.['summary'], rule.alert).toBeTruthy();
      expect(rule.annotations?.['description'], rule.alert).toBeTruthy();
      const [file, anchor] = (rule.annotations?.['runbook_url'] ?? '').split('#');
      expect(file, rule.alert).toBe('docs/runbook.md');
      expect(anchors.has(anchor ?? ''), `${rule.alert}: #${anchor} in docs/runbook.md`).toBe(true);
    }
  });

  it('each alert has a rule test file with a case that fires and one that stays quiet, and they pass', () => {
    const covered = new Map<string, { fires: number; quiet: number }>();
    for (const file of testFiles) {
      const spec = parse(fs.readFileSync(path.join(testsDir, file), 'utf8')) as { tests: RuleTest[] };
      for (const test of spec.tests) {
        for (const check of test.alert_rule_test) {
          const entry = covered.get(check.alertname) ?? { fires: 0, quiet: 0 };
          if (check.exp_alerts.length > 0) entry.fires += 1;
          else entry.quiet += 1;
          covered.set(check.alertname, entry);
        }
      }
    }
    for (const rule of alerts) {
      expect(covered.get(rule.alert)?.fires, `${rule.alert} fires`).toBeGreaterThan(0);
      expect(covered.get(rule.alert)?.quiet, `${rule.alert} stays quiet`).toBeGreaterThan(0);
    }
    const result = run('test', 'rules', ...testFiles.map((file) => `tests/${file}`));
    expect(result.output).not.toContain('FAILED');
    expect(result.status, result.output).toBe(0);
  });

  it('the rule tests notice a broken threshold', () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'settle-alerts-'));
    try {
      const rules = fs.readFileSync(path.join(prometheusDir, 'alerts.yml'), 'utf8');
      const broken = rules.replace('max(settle_relay_outbox_waiting_events) > 1000', 'max(settle_relay_outbox_waiting_events) > 100000');
      expect(broken).not.toBe(rules);
      fs.mkdirSync(path.join(scratch, 'tests'));
      fs.writeFileSync(path.join(scratch, 'alerts.yml'), broken);
      fs.copyFileSync(path.join(testsDir, 'outbox-backlog.test.yml'), path.join(scratch, 'tests/outbox-backlog.test.yml'));
      const result = spawnSync(promtool, ['test', 'rules', 'tests/outbox-backlog.test.yml'], { cwd: scratch, encoding: 'utf8' });
      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toContain('SettleOutboxBacklog');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('a missing promtool that cannot be installed is one line naming the package', () => {
    expect(() => ensureTool({ command: 'promtool', aptPackage: 'prometheus', searchPath: '/nonexistent', root: false })).toThrow(
      ToolMissingError,
    );
    expect(() => ensureTool({ command: 'promtool', aptPackage: 'prometheus', searchPath: '/nonexistent', root: false })).toThrow(
      /^promtool is not installed: install Debian's prometheus package \(apt-get install -y prometheus\)$/,
    );
  });
});
