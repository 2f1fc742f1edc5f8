package io.qvg4j.cli;

import io.qvg4j.cache.SalienceEviction;
import io.qvg4j.cache.SalienceProxy;
import io.qvg4j.io.Npy;
import io.qvg4j.io.NpyArray;
import io.qvg4j.io.NpyDtype;
import io.qvg4j.tensor.InvalidInputException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The salience scores {@code qvg cache-demo} evicts by (SPEC §16.4): a float32 {@code .npy} of {@code [S]} or
 * {@code [H,S]} scores, S the tokens streamed, checked whole before the stream starts; or the own-frame attention
 * proxy computed from each frame's keys.
 */
final class SalienceInput {
    private final float[] scores;
    private final int heads;
    private final int tokens;

    private SalienceInput(float[] scores, int heads, int tokens) {
        this.scores = scores;
        this.heads = heads;
        this.tokens = tokens;
    }

    static SalienceInput read(Path file, int heads, int tokens) throws IOException {
        NpyArray a = Npy.read(file);
        long[] shape = a.shape();
        boolean shapeOk = shape.length == 1 && shape[0] == tokens || shape.length == 2 && shape[0] == heads && shape[1] == tokens;
        if (a.dtype() != NpyDtype.FLOAT32 || !shapeOk) {
            throw new InvalidInputException(file + ": salience is " + a.dtype().name().toLowerCase() + " " + Arrays.toString(shape)
                    + "; expected float32 [" + tokens + "] or [" + heads + ", " + tokens + "] (S = the tokens streamed)");
        }
        float[] s = a.asFloat32();
        SalienceEviction.perToken(s, shape.length == 1 ? 1 : heads, tokens, file.toString());
        return new SalienceInput(s, shape.length == 1 ? 1 : heads, tokens);
    }

    /** The proxy instead of a file: scores computed per frame at append. */
    static SalienceInput ownFrame() {
        return new SalienceInput(null, 0, 0);
    }

    /** Scores of frame f ({@code [H, ft]} or {@code [ft]}), whose keys are {@code keys}. */
    float[] frame(int f, int ft, short[] keys, int heads, int dim) {
        if (scores == null) {
            return SalienceProxy.ownFrameMass(keys, heads, ft, dim, 32);
        }
        float[] out = new float[this.heads * ft];
        for (int h = 0; h < this.heads; h++) {
            System.arraycopy(scores, h * tokens + f * ft, out, h * ft, ft);
        }
        return out;
    }
}
