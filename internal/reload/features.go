package reload

import "errors"

// Feature is what a part of the daemon does when the configuration
// changes: Check validates the new config on the clients it will run on
// K (the AWS clients, rebuilt when the region changed) and may build what
// Apply will put in force, without changing anything running; Apply puts
// it in force. Every feature the daemon attaches returns one (None when the
// config cannot change it), so a feature cannot be wired without saying
// what a reload does to it.
type Feature[C, K any] interface {
	Check(cfg C, clients K) error
	Apply(cfg C, clients K) error
}

// Funcs is a Feature from two functions; a nil one does nothing.
type Funcs[C, K any] struct {
	CheckFunc func(cfg C, clients K) error
	ApplyFunc func(cfg C, clients K) error
}

// Check runs CheckFunc.
func (f Funcs[C, K]) Check(cfg C, clients K) error {
	if f.CheckFunc == nil {
		return nil
	}
	return f.CheckFunc(cfg, clients)
}

// Apply runs ApplyFunc.
func (f Funcs[C, K]) Apply(cfg C, clients K) error {
	if f.ApplyFunc == nil {
		return nil
	}
	return f.ApplyFunc(cfg, clients)
}

// None is the Feature of a part the configuration does not change (the
// stalled-probes gauge, the leader election: flags, not config).
func None[C, K any]() Feature[C, K] { return Funcs[C, K]{} }

// Features are the daemon's features in the order they were attached.
type Features[C, K any] []Feature[C, K]

// Apply checks cfg with every feature, and only when all accept it
// applies it to each, in order: a config any feature rejects changes
// nothing. An Apply that fails does not stop the others (each puts in
// force what it can); the errors are joined.
func (fs Features[C, K]) Apply(cfg C, clients K) error {
	for _, f := range fs {
		if err := f.Check(cfg, clients); err != nil {
			return err
		}
	}
	var errs []error
	for _, f := range fs {
		if err := f.Apply(cfg, clients); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run is one reload: load the new config, find the clients it runs on,
// then apply it to the features (Features.Apply). Until every feature has
// checked it, nothing running changes, so a config that fails anywhere
// leaves the old one in force.
func Run[C, K any](load func() (C, error), clients func(C) (K, error), fs Features[C, K]) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	k, err := clients(cfg)
	if err != nil {
		return err
	}
	return fs.Apply(cfg, k)
}
