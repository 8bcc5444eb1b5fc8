//! What the fleet benchmark binaries share: the emulator in a child process
//! ([`emulator_process`]), the measured roles (Postgres, scheduler, workers, the server
//! creates: [`roles`]) and the reading of the emulator's call log ([`in_flight`]).

pub mod emulator_process;
pub mod in_flight;
pub mod roles;
