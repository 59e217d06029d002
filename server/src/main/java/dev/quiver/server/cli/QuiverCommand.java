package dev.quiver.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code quiver} command: entry point of every subcommand. */
@Command(
    name = "quiver",
    mixinStandardHelpOptions = true,
    versionProvider = QuiverCommand.Version.class,
    description = "Quiver, a feature store for the JVM.",
    subcommands = {
      ValidateCommand.class,
      PlanCommand.class,
      ApplyCommand.class,
      RegistryCommand.class,
      ServeCommand.class,
      ProduceCommand.class,
      GetCommand.class,
      QuickstartCommand.class,
      ExportCommand.class,
      AlertsCommand.class,
      MonitorCommand.class,
      VerifyCommand.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:success",
      "1:validation errors, a refused plan, a conflict, or a failure",
      "2:usage error"
    })
public final class QuiverCommand implements Runnable {
  /** Exit code for validation errors, refused plans, conflicts and failures. */
  static final int FAILED = 1;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
  }

  /** A command line configured as the {@code quiver} script runs it. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new QuiverCommand());
    cl.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          commandLine
              .getErr()
              .println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
          return FAILED;
        });
    return cl;
  }

  public static void main(String[] args) {
    CommandLine cl = commandLine();
    int code;
    try {
      code = cl.execute(args);
    } catch (Throwable t) {
      // An Error escaped the command: report it and exit, even if non-daemon threads still run.
      t.printStackTrace();
      code = FAILED;
    }
    cl.getOut().flush();
    cl.getErr().flush();
    System.exit(code);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = QuiverCommand.class.getPackage().getImplementationVersion();
      return new String[] {"quiver " + (v == null ? "development build" : v)};
    }
  }
}
