import { describe, expect, it } from 'vitest';
import { CLUSTER_KEY_FW_CFG, LEAN_MACHINE, debugExitStatus, nodeMac, qemuArgv } from '../../emulator/qemu-args.ts';

describe('QEMU argv', () => {
  const base = { accel: 'tcg' as const, memoryMb: 64, qmpSocket: '/tmp/q.sock', debugExit: true, noReboot: true };
  it('boots a disk with serial on stdio, QMP, debug-exit and no reboot', () => {
    const a = qemuArgv({ ...base, disk: 'x.img' }).join(' ');
    expect(a).toContain('-machine pc,accel=tcg');
    expect(a).toContain('-serial stdio');
    expect(a).toContain('-qmp unix:/tmp/q.sock,server=on,wait=off');
    expect(a).toContain('file=x.img,format=raw,if=ide');
    expect(a).toContain('-device isa-debug-exit,iobase=0xf4,iosize=0x04');
    expect(a).toContain('-no-reboot');
    expect(a).toContain('-boot order=c');
  });
  it('boots a CD when only a cdrom is given, and passes extra args last', () => {
    const a = qemuArgv({ ...base, cdrom: 'r.iso', extra: ['-d', 'int'] });
    expect(a.join(' ')).toContain('media=cdrom');
    expect(a.join(' ')).toContain('-boot order=d');
    expect(a.slice(-2)).toEqual(['-d', 'int']);
  });
  it('maps debug-exit values to exit statuses as QEMU does', () => {
    expect(debugExitStatus(0x10)).toBe(33);
    expect(debugExitStatus(0x11)).toBe(35);
  });
  it('adds an e1000 on a tap (no option ROM) and the cluster key through fw_cfg', () => {
    const a = qemuArgv({ ...base, disk: 'x.img', nic: { tap: 'tap3', mac: nodeMac(3) }, fwCfg: [{ name: CLUSTER_KEY_FW_CFG, file: '/k' }] }).join(' ');
    expect(a).toContain('-netdev tap,id=n0,ifname=tap3,script=no,downscript=no');
    expect(a).toContain('-device e1000,netdev=n0,mac=52:54:00:47:00:03,romfile=');
    expect(a).toContain('-fw_cfg name=opt/gittorrent/key,file=/k');
    expect(qemuArgv({ ...base, disk: 'x.img' }).join(' ')).not.toContain('e1000');
  });
  it('adds machine properties to the one -machine argument (a cluster node: the lean pc)', () => {
    const a = qemuArgv({ ...base, disk: 'x.img', machineOptions: LEAN_MACHINE });
    expect(a.filter((x) => x === '-machine')).toHaveLength(1);
    expect(a[a.indexOf('-machine') + 1]).toBe('pc,accel=tcg,smm=off,hpet=off,vmport=off,acpi=off');
  });
  it('gives node n the MAC 52:54:00:47:HI:LO', () => {
    expect(nodeMac(1)).toBe('52:54:00:47:00:01');
    expect(nodeMac(258)).toBe('52:54:00:47:01:02');
    expect(nodeMac(65279)).toBe('52:54:00:47:fe:ff');
  });
});
