package dev.quiver.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** quiver.yaml is read by one rule: the validator's, for the server as for quiver validate. */
class RepoSettingsTest {
  @TempDir Path repo;

  @Test
  void settingsComeFromQuiverYaml() throws Exception {
    Files.writeString(
        repo.resolve("quiver.yaml"),
        "project: shop\nkafka: {bootstrap: 'k1:9093'}\ndata_dir: state\nports: {grpc: 7000,"
            + " flight: 7001, metrics: 7002}\n");
    RepoSettings s = RepoSettings.read(repo);
    assertThat(s.project()).isEqualTo("shop");
    assertThat(s.bootstrap()).isEqualTo("k1:9093");
    assertThat(s.dataDir()).isEqualTo(repo.resolve("state"));
    assertThat(s.grpcPort()).isEqualTo(7000);
    assertThat(s.flightPort()).isEqualTo(7001);
    assertThat(s.metricsPort()).isEqualTo(7002);
  }

  @Test
  void metricsAreOnPort9464UnlessQuiverYamlSaysOtherwise() throws Exception {
    assertThat(RepoSettings.read(repo).metricsPort()).isEqualTo(9464);
    Files.writeString(repo.resolve("quiver.yaml"), "project: shop\n");
    assertThat(RepoSettings.read(repo).metricsPort()).isEqualTo(9464);
    Files.writeString(repo.resolve("quiver.yaml"), "project: shop\nports: {metrics: 0}\n");
    assertThat(RepoSettings.read(repo).metricsPort()).isZero();
  }

  @Test
  void aMetricsPortOutOfRangeNamesWhatZeroMeans() throws Exception {
    Files.writeString(repo.resolve("quiver.yaml"), "project: shop\nports: {metrics: 70000}\n");
    assertThatThrownBy(() -> RepoSettings.read(repo))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("quiver.yaml:2:")
        .hasMessageContaining("70000")
        .hasMessageContaining("0 (no metrics endpoint) to 65535");
  }

  @Test
  void aMistypedValueIsALocatedErrorNotASilentDefault() throws Exception {
    Files.writeString(repo.resolve("quiver.yaml"), "project: shop\nports: {grpc: '66x6'}\n");
    assertThatThrownBy(() -> RepoSettings.read(repo))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("quiver.yaml:2:")
        .hasMessageContaining("grpc");
  }

  @Test
  void anUnknownKeyIsALocatedError() throws Exception {
    Files.writeString(repo.resolve("quiver.yaml"), "project: shop\nport: {grpc: 7000}\n");
    assertThatThrownBy(() -> RepoSettings.read(repo))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("quiver.yaml:2:1");
  }

  @Test
  void registryFileErrorsDoNotStopTheSettingsBeingRead() throws Exception {
    Files.writeString(repo.resolve("quiver.yaml"), "project: shop\n");
    Files.writeString(repo.resolve("broken.yaml"), "entities: [\n");
    assertThat(RepoSettings.read(repo).project()).isEqualTo("shop");
  }
}
