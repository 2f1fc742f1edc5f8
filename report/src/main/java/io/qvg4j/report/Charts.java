package io.qvg4j.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The report's figures, drawn with JFreeChart and returned as base64 PNG for a {@code data:} URL. */
final class Charts {
    private Charts() {}

    static final int WIDTH = 720, HEIGHT = 440;

    /** A point of a line series. */
    record Point(String series, double x, double y) {}

    /** Lines with markers, one series per name in first-seen order; logY draws y on a log axis (y > 0 only). */
    static String lines(String title, String xLabel, String yLabel, List<Point> points, boolean logY) {
        Map<String, XYSeries> series = new LinkedHashMap<>();
        for (Point p : points) {
            if (logY && !(p.y() > 0) || Double.isNaN(p.y())) {
                continue;
            }
            series.computeIfAbsent(p.series(), n -> new XYSeries(n, false, true)).add(p.x(), p.y());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        series.values().forEach(data::addSeries);
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data, PlotOrientation.VERTICAL,
                true, false, false);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < series.size(); i++) {
            r.setSeriesStroke(i, new BasicStroke(1.6f));
        }
        plot.setRenderer(r);
        style(plot);
        if (logY) {
            LogAxis y = new LogAxis(yLabel);
            y.setSmallestValue(1e-6);
            y.setNumberFormatOverride(new java.text.DecimalFormat("0.####"));
            plot.setRangeAxis(y);
        } else {
            ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(true);
        }
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        return png(chart, WIDTH, HEIGHT);
    }

    /** Grouped bars: {@code values[series][category]}. */
    static String bars(String title, String categoryLabel, String valueLabel, String[] series, String[] categories,
                       double[][] values) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (int s = 0; s < series.length; s++) {
            for (int c = 0; c < categories.length; c++) {
                data.addValue(values[s][c], series[s], categories[c]);
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(title, categoryLabel, valueLabel, data);
        chart.getCategoryPlot().setBackgroundPaint(Color.WHITE);
        chart.getCategoryPlot().setRangeGridlinePaint(Color.LIGHT_GRAY);
        return png(chart, WIDTH, HEIGHT);
    }

    /** A heat map of {@code z[row·cols + col]} (rows: token bins, top to bottom; columns: channels). */
    static String heatMap(String title, int rows, int cols, float[] z, double max, String rowLabel) {
        double[][] xyz = new double[3][rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                xyz[0][i] = c;
                xyz[1][i] = r;
                xyz[2][i] = z[i];
            }
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("mean |x|", xyz);
        NumberAxis x = new NumberAxis("channel");
        x.setRange(-0.5, cols - 0.5);
        NumberAxis y = new NumberAxis(rowLabel);
        y.setRange(-0.5, rows - 0.5);
        y.setInverted(true);
        XYBlockRenderer renderer = new XYBlockRenderer();
        Scale scale = new Scale(max);
        renderer.setPaintScale(scale);
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        PaintScaleLegend legend = new PaintScaleLegend(scale, new NumberAxis("mean |x|"));
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(4, 4, 40, 4);
        chart.addSubtitle(legend);
        chart.setBackgroundPaint(Color.WHITE);
        return png(chart, 360, 300);
    }

    /** White to dark blue to red, linear in [0, max]; values above max take the top colour. */
    private record Scale(double max) implements PaintScale {
        @Override
        public double getLowerBound() {
            return 0;
        }

        @Override
        public double getUpperBound() {
            return max;
        }

        @Override
        public java.awt.Paint getPaint(double value) {
            float t = (float) Math.max(0, Math.min(1, value / max));
            if (t < 0.5f) {
                float u = t * 2;
                return new Color(1 - 0.9f * u, 1 - 0.8f * u, 1 - 0.4f * u);
            }
            float u = (t - 0.5f) * 2;
            return new Color(0.1f + 0.8f * u, 0.2f - 0.1f * u, 0.6f - 0.5f * u);
        }
    }

    private static void style(XYPlot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    }

    private static String png(JFreeChart chart, int w, int h) {
        chart.setBackgroundPaint(Color.WHITE);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(out, chart, w, h);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }
}
