package main

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// lossCurve is one named series of (step, loss) points.
type lossCurve struct {
	Name string
	XY   plotter.XYs
}

// plotLoss draws training/validation curves to a PNG (or SVG/PDF by extension).
func plotLoss(path, title, ylabel string, curves ...lossCurve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	var args []any
	for _, c := range curves {
		if len(c.XY) == 0 {
			continue
		}
		args = append(args, c.Name, c.XY)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	if err := p.Save(7*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("plot %s: %v", path, err)
	}
	return nil
}
