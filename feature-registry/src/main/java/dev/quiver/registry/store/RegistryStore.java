package dev.quiver.registry.store;

import dev.quiver.proto.v1.RegistrySnapshot;
import dev.quiver.proto.v1.RegistryVersion;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Versioned registry snapshots. Versions start at 1 and increase by one per apply; every version
 * stays readable. Implementations must make {@link #apply} atomic (a failed apply leaves the
 * previous version as it was) and optimistic (an apply planned against an older version fails with
 * {@link RegistryConflictException}).
 *
 * <p>Implementations are thread-safe and safe to share between processes that use the same storage.
 */
public interface RegistryStore {

  /** The newest applied version, or 0 when nothing was ever applied. */
  long latestVersion() throws IOException;

  /** The newest snapshot, if any. */
  default Optional<RegistrySnapshot> latest() throws IOException {
    long v = latestVersion();
    return v == 0 ? Optional.empty() : Optional.of(get(v));
  }

  /**
   * The snapshot of one version.
   *
   * @throws VersionNotFoundException if the version was never applied
   */
  RegistrySnapshot get(long version) throws IOException;

  /** Every applied version, oldest first. */
  List<RegistryVersion> list() throws IOException;

  /**
   * Stores {@code next} as version {@code baseVersion + 1}.
   *
   * @param baseVersion the version the change was planned against (0 for a first apply)
   * @param next the new registry; its version field is set by the store
   * @return the snapshot as stored, with its version
   * @throws RegistryConflictException if the store's latest version is not {@code baseVersion}
   */
  RegistrySnapshot apply(long baseVersion, RegistrySnapshot next)
      throws IOException, RegistryConflictException;
}
