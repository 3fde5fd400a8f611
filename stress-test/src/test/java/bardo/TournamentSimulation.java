package bardo;

/** The "tournament" profile of {@link RinhaSimulation} (its own results folder name). */
public class TournamentSimulation extends RinhaSimulation {
  public TournamentSimulation() {
    super("tournament");
  }
}
