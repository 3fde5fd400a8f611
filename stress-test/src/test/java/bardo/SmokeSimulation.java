package bardo;

/** The "smoke" profile of {@link RinhaSimulation} (its own results folder name). */
public class SmokeSimulation extends RinhaSimulation {
  public SmokeSimulation() {
    super("smoke");
  }
}
