package dev.quiver.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The ./quiver script at the root runs the packaged command, as a newcomer would. */
class QuiverScriptIT {

  static String run(Path root, int expectedExit, String... args)
      throws IOException, InterruptedException {
    String[] command = new String[args.length + 2];
    command[0] = "bash";
    command[1] = root.resolve("quiver").toString();
    System.arraycopy(args, 0, command, 2, args.length);
    java.nio.file.Path log = java.nio.file.Files.createTempFile("quiver-script", ".log");
    Process p =
        new ProcessBuilder(command)
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    boolean exited = p.waitFor(5, TimeUnit.MINUTES);
    if (!exited) {
      p.destroyForcibly();
    }
    String output = java.nio.file.Files.readString(log, StandardCharsets.UTF_8);
    java.nio.file.Files.deleteIfExists(log);
    assertThat(exited).as("quiver %s exited; output:%n%s", String.join(" ", args), output).isTrue();
    assertThat(p.exitValue())
        .as("exit of quiver %s; output:%n%s", String.join(" ", args), output)
        .isEqualTo(expectedExit);
    return output;
  }

  @Test
  void validatesTheExampleThroughTheScript() throws Exception {
    Path root = CliTest.checkoutRoot();
    assertThat(run(root, 0, "validate", "examples/payments"))
        .doesNotContain("building")
        .contains("examples/payments: valid: project payments");
    assertThat(run(root, 2, "no-such-command")).contains("Unmatched argument");
    assertThat(run(root, 0, "--help"))
        .contains("validate")
        .contains("plan")
        .contains("apply")
        .contains("registry");
  }
}
