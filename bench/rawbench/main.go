// Command rawbench measures the baselines the server's workloads are judged
// against, with nothing of the server in the way:
//
//	rawbench bcrypt -cost 10 -duration 5s           bcrypt compares/s, one goroutine per core
//	rawbench put -bucket B -size N -workers 8       MinIO PutObject/s of an N-byte object
//	rawbench empty -bucket B                        remove every object of a bucket, keep the bucket
//	rawbench jpeg -out F -width 1200 -height 900 -target 300000
//	                                                write a photo-like JPEG near a target size
//	rawbench slowbodies -url U -conns 150 -size 5242880
//	                                                slow bodies over the JSON limit, all at once
//	rawbench avatars -url U -tokens F -conns 8 -rounds 2
//	                                                the costliest accepted avatar, uploaded at once
//	rawbench smtpsink -addr 127.0.0.1:2525          accept SMTP mail and discard it until stopped
//
// bcrypt, put, slowbodies, avatars and smtpsink (when stopped) print one JSON
// object on stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: rawbench bcrypt|put|empty|jpeg|slowbodies|avatars|smtpsink [flags]")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	switch cmd {
	case "bcrypt":
		return runBcrypt(ctx, fs, args, stdout)
	case "put":
		return runPut(ctx, fs, args, getenv, stdout)
	case "empty":
		return runEmpty(ctx, fs, args, getenv)
	case "jpeg":
		return runJPEG(fs, args, stdout)
	case "slowbodies":
		return runSlowBodies(ctx, fs, args, stdout)
	case "avatars":
		return runAvatars(ctx, fs, args, stdout)
	case "smtpsink":
		return runSMTPSink(ctx, fs, args, stdout)
	}
	return fmt.Errorf("unknown command %q (want bcrypt, put, empty, jpeg, slowbodies, avatars or smtpsink)", cmd)
}
