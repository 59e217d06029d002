package dev.quiver.registry.store;

/**
 * An apply was planned against a version that is no longer the latest: someone else applied in
 * between. Re-run the plan against the new version and apply again.
 */
public final class RegistryConflictException extends Exception {
  private final long baseVersion;
  private final long latestVersion;

  public RegistryConflictException(long baseVersion, long latestVersion) {
    super(
        "registry conflict: the plan was made against version "
            + baseVersion
            + " but the registry is now at version "
            + latestVersion
            + "; run plan again to see the changes applied since, then apply");
    this.baseVersion = baseVersion;
    this.latestVersion = latestVersion;
  }

  public long baseVersion() {
    return baseVersion;
  }

  public long latestVersion() {
    return latestVersion;
  }
}
