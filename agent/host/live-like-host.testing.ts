import type { UnitStatus } from "./host.js";
import { RealHost } from "./real-host.js";

/**
 * A rooted host that pretends to be a live machine for the kernel and systemd: files go under
 * the root for real, modules/sysctls/units are kept in memory, and unit actions are recorded.
 */
export class LiveLikeHost extends RealHost {
  override readonly offline = false;
  override readonly description = "live-like test host";
  readonly actions: string[] = [];
  private units = new Map<string, UnitStatus>();
  private sysctls = new Map<string, string>();
  private modules = new Set<string>();

  override async isKernelModuleLoaded(name: string) {
    return this.modules.has(name);
  }
  override async loadKernelModule(name: string) {
    this.modules.add(name);
  }
  override async readSysctl(key: string) {
    return this.sysctls.get(key) ?? "0";
  }
  override async writeSysctl(key: string, value: string) {
    this.sysctls.set(key, value);
  }
  override async unitStatus(name: string) {
    return { ...(this.units.get(name) ?? { enabled: false, active: false }) };
  }
  private set(name: string, change: Partial<UnitStatus>, action: string) {
    this.units.set(name, { ...(this.units.get(name) ?? { enabled: false, active: false }), ...change });
    this.actions.push(`${action} ${name}`);
  }
  override async reloadUnits() {
    this.actions.push("daemon-reload");
  }
  override async enableUnit(name: string) {
    this.set(name, { enabled: true }, "enable");
  }
  override async disableUnit(name: string) {
    this.set(name, { enabled: false }, "disable");
  }
  override async startUnit(name: string) {
    this.set(name, { active: true }, "start");
  }
  override async restartUnit(name: string) {
    this.set(name, { active: true }, "restart");
  }
  override async stopUnit(name: string) {
    this.set(name, { active: false }, "stop");
  }
}
